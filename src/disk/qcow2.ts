// qcow2 images through `qemu-img convert` to a sparse temporary raw file, removed on close whatever happens.
// Writable: the raw copy is changed, converted back and renamed over the original only when all succeeded.

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DiskError } from './errors.ts';
import { openRawDisk, type RawImage } from './raw.ts';

const run = promisify(execFile);

export interface Qcow2Options {
  writable?: boolean;
  /** Where the temporary raw copy goes; defaults to the OS temp directory. */
  tempDir?: string;
}

async function qemuImg(args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await run('qemu-img', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DiskError('DISK_UNSUPPORTED', 'qcow2 images need qemu-img, which is not installed.', {
        cause: error,
      });
    }
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new DiskError('DISK_CORRUPT', `qemu-img could not ${what}: ${stderr}`, { cause: error });
  }
}

/** A backing file or external data file would make qemu-img read host files the image names: refused. */
async function assertSelfContained(path: string): Promise<void> {
  const info = JSON.parse(
    await qemuImg(['info', '--output=json', '-f', 'qcow2', path], 'read the qcow2 header'),
  ) as {
    'backing-filename'?: string;
    'format-specific'?: { data?: { 'data-file'?: string } };
  };
  if (info['backing-filename'] !== undefined || info['format-specific']?.data?.['data-file'] !== undefined) {
    throw new DiskError(
      'DISK_UNSUPPORTED',
      'qcow2 images with a backing file or external data file are refused.',
    );
  }
}

export async function openQcow2Image(path: string, options: Qcow2Options = {}): Promise<RawImage> {
  await assertSelfContained(path);
  const workDir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'imagetrust-qcow2-'));
  const rawPath = join(workDir, 'disk.raw');
  const removeWorkDir = (): Promise<void> => rm(workDir, { recursive: true, force: true });
  try {
    await qemuImg(['convert', '-f', 'qcow2', '-O', 'raw', path, rawPath], 'convert the image to raw');
  } catch (error) {
    await removeWorkDir();
    throw error;
  }
  const onClose = async (committed: boolean): Promise<void> => {
    try {
      if (options.writable && committed) {
        // The new qcow2 is written next to the original so the final rename is atomic on one filesystem.
        const staged = join(dirname(path), `.${basename(path)}.imagetrust-${randomUUID()}`);
        try {
          await qemuImg(
            ['convert', '-f', 'raw', '-O', 'qcow2', rawPath, staged],
            'convert the image back to qcow2',
          );
          await rename(staged, path);
        } finally {
          await rm(staged, { force: true });
        }
      }
    } finally {
      await removeWorkDir();
    }
  };
  return openRawDisk(rawPath, { writable: options.writable ?? false, kind: 'qcow2', onClose });
}
