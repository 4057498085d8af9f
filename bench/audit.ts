// Transparency log benchmark (run with `node_modules/.bin/node bench/audit.ts`). A report, not a test: it
// exits 0 unless the benchmark itself cannot run.
//
// On SQLite in a temporary directory it:
//  1. records $BENCH_AUDIT_EVENTS (default 100,000) events as a busy server does, through the services the
//     composition root builds: each in its own transaction into the outbox, then relayed into the log
//     (up to 500 per transaction, a signed head at most once a second), $BENCH_AUDIT_CONCURRENCY
//     (default 1,000) in flight at a time;
//  2. for scale, records 2,000 more one at a time (each awaited: outbox commit plus relay, a quiet server);
//  3. measures the same machine's limits for what an append costs: raw INSERTs of the same rows in
//     500-row transactions with nothing computed, and SHA-256 leaf hashes per second; prints ratios;
//  4. times 1,000 random inclusion proofs and 1,000 random consistency proofs (p50/p99), each verified
//     outside the timing; tree head signing alone and a lazily signed head (root + sign + store);
//  5. times a cold start (services opened again, the log loading every leaf hash) and `verifyStoredLog`.

import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openServices } from '../src/app/index.ts';
import {
  createTreeHeadSigner,
  signTreeHead,
  toAuditEntry,
  toAuditLeaf,
  verifyConsistency,
  verifyInclusion,
} from '../src/audit/index.ts';
import { validateConfig } from '../src/config/index.ts';
import type { DomainEvent } from '../src/events/index.ts';
import { openDatabase } from '../src/storage/index.ts';
import { log, positiveInt, round } from './processes.ts';

const EVENTS = positiveInt('BENCH_AUDIT_EVENTS', 100_000);
const CONCURRENCY = positiveInt('BENCH_AUDIT_CONCURRENCY', 1_000);
const PROOFS = positiveInt('BENCH_AUDIT_PROOFS', 1_000);
const SEQUENTIAL = 2_000;

function event(i: number): DomainEvent {
  return {
    type: i % 5 === 0 ? 'image.created' : 'image.updated',
    actor: { userId: `user-${i % 97}`, userName: `user ${i % 97}`, projectId: `project-${i % 13}` },
    projectId: `project-${i % 13}`,
    subjectId: `image-${i % 5000}`,
    contentDigest: `sha256:${createHash('sha256').update(String(i)).digest('hex')}`,
    details: { name: `image ${i}`, visibility: 'private', size: i * 4096 },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const random = (n: number) => Math.floor(Math.random() * n);

const dir = await mkdtemp(path.join(tmpdir(), 'imagetrust-bench-audit-'));
try {
  const config = validateConfig({ dataDir: dir, logLevel: 'silent' });
  const services = await openServices(config);
  const { audit, events } = services;
  const signer = createTreeHeadSigner(generateKeyPairSync('ed25519').privateKey);

  // 1. Events under load, as the services record them.
  log(`recording ${EVENTS} events, ${CONCURRENCY} in flight`);
  let start = process.hrtime.bigint();
  for (let done = 0; done < EVENTS; done += CONCURRENCY) {
    const wave = Math.min(CONCURRENCY, EVENTS - done);
    await Promise.all(Array.from({ length: wave }, (_, i) => events.record(event(done + i))));
  }
  const loadedMs = ms(start);
  const loadedRate = EVENTS / (loadedMs / 1000);

  // 2. One at a time.
  start = process.hrtime.bigint();
  for (let i = 0; i < SEQUENTIAL; i++) await events.record(event(EVENTS + i));
  const sequentialRate = SEQUENTIAL / (ms(start) / 1000);
  const total = EVENTS + SEQUENTIAL;

  // 3. The machine's limits for the same work: plain inserts, and leaf hashing.
  const raw = await openDatabase(`sqlite:${path.join(dir, 'raw.sqlite')}`);
  const rows = Array.from({ length: EVENTS }, (_, i) => toAuditEntry(toAuditLeaf(event(i), i, new Date())));
  start = process.hrtime.bigint();
  for (let i = 0; i < rows.length; i += 500) {
    await raw.transaction(async (tx) => {
      for (let j = i; j < Math.min(i + 500, rows.length); j += 100) {
        const chunk = rows.slice(j, j + 100);
        await tx.run(
          `INSERT INTO audit_entries (seq, leaf_hash, event_type, subject_id, project_id, actor_id, recorded_at, event) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          chunk.flatMap((e) => [
            e.seq,
            e.leafHash,
            e.eventType,
            e.subjectId,
            e.projectId,
            e.actorId,
            e.recordedAt,
            e.leaf,
          ]),
        );
      }
    });
  }
  const rawInsertRate = EVENTS / (ms(start) / 1000);
  await raw.close();
  start = process.hrtime.bigint();
  for (const row of rows) createHash('sha256').update('\0').update(row.leaf).digest();
  const hashRate = EVENTS / (ms(start) / 1000);

  // 4. Proofs against the latest head.
  const head = await audit.latestTreeHead();
  const root = Buffer.from(head.root_hash, 'hex');
  const inclusion: number[] = [];
  for (let i = 0; i < PROOFS; i++) {
    const seq = random(total);
    const t = process.hrtime.bigint();
    const proof = await audit.inclusionProof(seq, total);
    inclusion.push(ms(t));
    const path = proof.audit_path.map((h) => Buffer.from(h, 'hex'));
    if (!verifyInclusion(Buffer.from(proof.leaf_hash, 'hex'), seq, total, path, root)) {
      throw new Error(`inclusion proof ${seq} does not verify`);
    }
  }
  const consistency: number[] = [];
  for (let i = 0; i < PROOFS; i++) {
    const second = 1 + random(total);
    const first = 1 + random(second);
    const t = process.hrtime.bigint();
    const proof = await audit.consistencyProof(first, second);
    consistency.push(ms(t));
    const path = proof.consistency_path.map((h) => Buffer.from(h, 'hex'));
    const ok = verifyConsistency(
      first,
      second,
      Buffer.from(proof.first_root, 'hex'),
      Buffer.from(proof.second_root, 'hex'),
      path,
    );
    if (!ok) throw new Error(`consistency proof ${first} -> ${second} does not verify`);
  }
  const signing: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t = process.hrtime.bigint();
    signTreeHead(signer, total, root, new Date());
    signing.push(ms(t));
  }
  await events.record(event(total));
  start = process.hrtime.bigint();
  await audit.latestTreeHead();
  const lazyHeadMs = ms(start);

  // 5. Cold start and full verification.
  start = process.hrtime.bigint();
  const cold = await openServices(config);
  await cold.audit.inclusionProof(0, total + 1);
  const coldStartMs = ms(start);
  await cold.close();
  start = process.hrtime.bigint();
  const report = await audit.verifyStoredLog();
  const verifyMs = ms(start);
  if (!report.ok) throw new Error(`verifyStoredLog: ${report.message}`);
  await services.close();

  const results = {
    events: EVENTS,
    concurrency: CONCURRENCY,
    appendLoadedEventsPerSecond: Math.round(loadedRate),
    appendSequentialEventsPerSecond: Math.round(sequentialRate),
    rawInsertRowsPerSecond: Math.round(rawInsertRate),
    loadedVsRawInsert: round(loadedRate / rawInsertRate),
    leafHashesPerSecond: Math.round(hashRate),
    inclusionProofMs: { p50: round(percentile(inclusion, 50), 4), p99: round(percentile(inclusion, 99), 4) },
    consistencyProofMs: {
      p50: round(percentile(consistency, 50), 4),
      p99: round(percentile(consistency, 99), 4),
    },
    signTreeHeadMs: { p50: round(percentile(signing, 50), 4), p99: round(percentile(signing, 99), 4) },
    lazySignedHeadMs: round(lazyHeadMs, 3),
    coldStartMs: round(coldStartMs, 1),
    verifyStoredLogMs: round(verifyMs, 1),
    verifyStoredLogEntriesPerSecond: Math.round(report.treeSize / (verifyMs / 1000)),
  };
  const lines = [
    `events, ${CONCURRENCY} in flight:   ${results.appendLoadedEventsPerSecond} events/s (${results.loadedVsRawInsert}× raw INSERT of the same rows: ${results.rawInsertRowsPerSecond}/s)`,
    `events, one at a time:      ${results.appendSequentialEventsPerSecond} events/s (outbox commit + relay each)`,
    `leaf hashing alone:         ${results.leafHashesPerSecond}/s`,
    `inclusion proof:            p50 ${results.inclusionProofMs.p50} ms, p99 ${results.inclusionProofMs.p99} ms`,
    `consistency proof:          p50 ${results.consistencyProofMs.p50} ms, p99 ${results.consistencyProofMs.p99} ms`,
    `sign a tree head (Ed25519): p50 ${results.signTreeHeadMs.p50} ms, p99 ${results.signTreeHeadMs.p99} ms`,
    `lazily signed head:         ${results.lazySignedHeadMs} ms (root + sign + store)`,
    `cold start (load ${total + 1} leaf hashes): ${results.coldStartMs} ms`,
    `verifyStoredLog:            ${results.verifyStoredLogMs} ms (${results.verifyStoredLogEntriesPerSecond} entries/s)`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
