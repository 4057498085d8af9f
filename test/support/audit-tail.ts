// Shared by the attacks on the newest entries of the transparency log (test/security/*-tail-*.test.ts):
// a data directory whose log holds two batches recorded at one instant of a TestClock (so nothing but a
// head signed with every batch covers the second), on SQLite or on PostgreSQL; direct SQL to tamper as
// someone with database access would; and the two detectors, `imagetrust audit verify` and a start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openServices } from '../../src/app/index.ts';
import { type ImageTrustConfig, validateConfig } from '../../src/config/index.ts';
import type { DomainEvent } from '../../src/events/index.ts';
import { openDatabase, type SqlDatabase } from '../../src/storage/index.ts';
import { postgresBackend, sqliteBackend } from '../storage/database-backends.ts';
import { TestClock } from './clock.ts';
import { type RunResult, run } from './tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

/** Entries 0..4 are the first batch, 5..7 the second. */
export const FIRST_BATCH = 5;
export const LOG_SIZE = 8;

function event(step: number): DomainEvent {
  return {
    type: 'image.updated',
    actor: { userId: 'alice', projectId: 'project-a' },
    projectId: 'project-a',
    subjectId: `image-${step % 2}`,
    details: { step },
  };
}

export interface TailLog {
  dataDir: string;
  /** Runs `work` on the database directly, with the services closed. */
  tamper(work: (db: SqlDatabase) => Promise<void>): Promise<void>;
  /** `imagetrust audit verify` on this data directory and database. */
  verify(): Promise<RunResult>;
  /** Opens the services as a start does; resolves with the error it fails with, or null. */
  startError(): Promise<unknown>;
}

export interface TailBackend {
  name: 'sqlite' | 'postgres';
  ready(): Promise<void>;
  /** A data directory (and database) holding LOG_SIZE entries in two batches. */
  createLog(): Promise<TailLog>;
  dispose(): Promise<void>;
}

export function tailBackends(): TailBackend[] {
  return [sqliteBackend(), postgresBackend()].map((backend) => {
    const dirs: string[] = [];
    return {
      name: backend.name,
      ready: () => backend.ready(),
      async createLog() {
        const dataDir = mkdtempSync(path.join(tmpdir(), 'imagetrust-tail-'));
        dirs.push(dataDir);
        const databaseUrl =
          backend.name === 'postgres'
            ? await backend.freshUrl()
            : `sqlite:${path.join(dataDir, 'imagetrust.sqlite')}`;
        const config: ImageTrustConfig = validateConfig({
          dataDir,
          logLevel: 'silent',
          ...(backend.name === 'postgres' ? { database: databaseUrl } : {}),
        });
        const clock = new TestClock();
        const services = await openServices(config, { clock });
        await services.events.record(...Array.from({ length: FIRST_BATCH }, (_, i) => event(i)));
        await services.events.record(
          ...Array.from({ length: LOG_SIZE - FIRST_BATCH }, (_, i) => event(FIRST_BATCH + i)),
        );
        await services.close();
        return {
          dataDir,
          async tamper(work) {
            const db = await openDatabase(databaseUrl);
            try {
              await work(db);
            } finally {
              await db.close();
            }
          },
          verify: () =>
            run(
              BIN,
              [
                'audit',
                'verify',
                '--data-dir',
                dataDir,
                ...(backend.name === 'postgres' ? ['--database', databaseUrl] : []),
              ],
              { IMAGETRUST_CONFIG: '' },
            ),
          async startError() {
            try {
              const reopened = await openServices(config, { clock });
              await reopened.close();
              return null;
            } catch (error) {
              return error;
            }
          },
        };
      },
      async dispose() {
        await backend.dispose();
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
