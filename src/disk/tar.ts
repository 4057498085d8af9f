// Tar archives (ustar, pax, GNU long names; gzip-compressed too) as an image root, read in place.
// The archive is indexed once; hostile member names are never used as host paths, only as map keys.
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DiskError, toDiskError } from './errors.ts';
import { type FsBackend, ResolvingFileSystem } from './resolver.ts';
import type { FileStat, FileType } from './types.ts';

const BLOCK = 512;
const MAX_ENTRIES = 1_000_000;
const MAX_META_BYTES = 1024 * 1024;
/** A gzip bomb stops here; a real root filesystem tarball is far smaller. */
const DEFAULT_MAX_UNPACKED_BYTES = 64 * 1024 ** 3;

interface TarEntry {
  stat: FileStat;
  dataOffset: number;
  linkname: string;
}

export interface TarOpenOptions {
  maxUnpackedBytes?: number;
  tempDir?: string;
}

const TYPE_BY_FLAG: Record<string, FileType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '2': 'symlink',
  '5': 'directory',
  '3': 'char-device',
  '4': 'block-device',
  '6': 'fifo',
};

const TYPE_BITS: Record<FileType, number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  'char-device': 0o020000,
  'block-device': 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
};

function corrupt(message: string): DiskError {
  return new DiskError('DISK_CORRUPT', `The tar archive is corrupt: ${message}`);
}

function readString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** Numeric header fields: octal text, or GNU base-256 when the high bit of the first byte is set. */
function readNumber(block: Buffer, start: number, length: number, what: string): number {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    if (field[0] & 0x40) throw corrupt(`negative ${what}`);
    let value = field[0] & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i];
    if (!Number.isSafeInteger(value)) throw corrupt(`${what} out of range`);
    return value;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`${what} is not octal`);
  const value = Number.parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw corrupt(`${what} out of range`);
  return value;
}

/** True when the 512 bytes carry a valid tar header checksum (used for detection too). */
export function hasValidTarChecksum(block: Buffer): boolean {
  if (block.length < BLOCK) return false;
  let expected: number;
  try {
    expected = readNumber(block, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum === expected && sum !== 8 * 0x20;
}

/** Splits a member name into components; `..` anywhere makes it unreachable, a leading `/` is dropped as GNU tar does. */
function normaliseMember(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' || part.includes('\0')) return undefined;
    parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw corrupt('bad pax record');
    const length = Number.parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!Number.isSafeInteger(length) || length <= space - pos || pos + length > data.length) {
      throw corrupt('bad pax record length');
    }
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq === -1) throw corrupt('bad pax record');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw corrupt('unexpected end of archive');
    done += bytesRead;
  }
  return buffer;
}

async function indexTar(handle: FileHandle): Promise<Map<string, TarEntry>> {
  const fileSize = (await handle.stat()).size;
  const entries = new Map<string, TarEntry>();
  entries.set('/', {
    stat: { type: 'directory', mode: 0o040755, uid: 0, gid: 0, size: 0, mtime: 0 },
    dataOffset: 0,
    linkname: '',
  });
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  let sawEnd = false;
  while (offset + BLOCK <= fileSize) {
    const header = await readExactly(handle, BLOCK, offset);
    if (header.every((b) => b === 0)) {
      sawEnd = true;
      break;
    }
    if (!hasValidTarChecksum(header)) throw corrupt(`bad header checksum at byte ${offset}`);
    if (entries.size > MAX_ENTRIES) throw corrupt('too many entries');
    const flag = String.fromCharCode(header[156]);
    let size = readNumber(header, 124, 12, 'size');
    if (pax.has('size') && flag !== 'x' && flag !== 'g') size = Number(pax.get('size'));
    if (!Number.isSafeInteger(size) || size < 0) throw corrupt('bad entry size');
    const dataOffset = offset + BLOCK;
    if (dataOffset + size > fileSize)
      throw corrupt(`entry at byte ${offset} declares more data than the archive holds`);
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    const readMeta = async (): Promise<Buffer> => {
      if (size > MAX_META_BYTES) throw corrupt('metadata entry too large');
      return readExactly(handle, size, dataOffset);
    };
    if (flag === 'L') {
      longName = readString(await readMeta(), 0, size);
      continue;
    }
    if (flag === 'K') {
      longLink = readString(await readMeta(), 0, size);
      continue;
    }
    if (flag === 'x') {
      pax = parsePax(await readMeta());
      continue;
    }
    if (flag === 'g') continue;
    const prefix =
      header.subarray(257, 263).toString('latin1') === 'ustar\0' ? readString(header, 345, 155) : '';
    const rawName =
      pax.get('path') ??
      longName ??
      (prefix ? `${prefix}/${readString(header, 0, 100)}` : readString(header, 0, 100));
    const linkname = pax.get('linkpath') ?? longLink ?? readString(header, 157, 100);
    const paxNumber = (key: string, fallback: number): number => {
      const value = Number(pax.get(key));
      return pax.has(key) && Number.isFinite(value) ? Math.floor(value) : fallback;
    };
    const uid = paxNumber('uid', readNumber(header, 108, 8, 'uid'));
    const gid = paxNumber('gid', readNumber(header, 116, 8, 'gid'));
    const mtime = paxNumber('mtime', readNumber(header, 136, 12, 'mtime'));
    const perm = readNumber(header, 100, 8, 'mode') & 0o7777;
    longName = undefined;
    longLink = undefined;
    pax = new Map();

    const name = normaliseMember(rawName);
    // Members with `..` are hostile: they stay in the archive but no path can reach them.
    if (name === undefined) continue;
    if (flag === '1') {
      // A hard link shares the data of an earlier member.
      const target = normaliseMember(linkname);
      const original = target === undefined ? undefined : entries.get(target);
      if (original?.stat.type !== 'file' || name === '/') continue;
      entries.set(name, { ...original, stat: { ...original.stat } });
      continue;
    }
    const type = TYPE_BY_FLAG[flag];
    if (!type) continue;
    if (name === '/') {
      if (type === 'directory')
        entries.set('/', {
          stat: { ...entries.get('/')!.stat, uid, gid, mtime, mode: TYPE_BITS.directory | perm },
          dataOffset: 0,
          linkname: '',
        });
      continue;
    }
    // Parents missing from the archive exist implicitly, as tar extraction would create them.
    const parts = name.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) {
      const parent = `/${parts.slice(0, i).join('/')}`;
      if (!entries.has(parent)) {
        entries.set(parent, {
          stat: { type: 'directory', mode: 0o040755, uid: 0, gid: 0, size: 0, mtime: 0 },
          dataOffset: 0,
          linkname: '',
        });
      }
    }
    // A later member with the same name replaces the earlier one, as extraction would.
    entries.set(name, {
      stat: {
        type,
        mode: TYPE_BITS[type] | perm,
        uid,
        gid,
        size: type === 'file' ? size : type === 'symlink' ? Buffer.byteLength(linkname) : 0,
        mtime,
      },
      dataOffset,
      linkname,
    });
  }
  // Every tar writer ends with zero blocks; without them the archive was cut short.
  if (!sawEnd) throw corrupt('the archive ends without its end-of-archive blocks (truncated?)');
  return entries;
}

class TarBackend implements FsBackend {
  readonly #handle: FileHandle;
  readonly #entries: Map<string, TarEntry>;
  readonly #children = new Map<string, string[]>();
  readonly #cleanup: () => Promise<void>;

  constructor(handle: FileHandle, entries: Map<string, TarEntry>, cleanup: () => Promise<void>) {
    this.#handle = handle;
    this.#entries = entries;
    this.#cleanup = cleanup;
    for (const path of entries.keys()) {
      if (path === '/') continue;
      const cut = path.lastIndexOf('/');
      const parent = cut === 0 ? '/' : path.slice(0, cut);
      const list = this.#children.get(parent) ?? [];
      list.push(path.slice(cut + 1));
      this.#children.set(parent, list);
    }
  }

  async lstat(path: string): Promise<FileStat | undefined> {
    const entry = this.#entries.get(path);
    return entry ? { ...entry.stat } : undefined;
  }

  async readlink(path: string): Promise<string> {
    return this.#entries.get(path)?.linkname ?? '';
  }

  async readdir(path: string): Promise<string[]> {
    return [...(this.#children.get(path) ?? [])];
  }

  async readFile(path: string, size: number): Promise<Buffer> {
    const entry = this.#entries.get(path);
    if (!entry) return Buffer.alloc(0);
    return readExactly(this.#handle, size, entry.dataOffset);
  }

  async close(): Promise<void> {
    try {
      await this.#handle.close();
    } finally {
      await this.#cleanup();
    }
  }
}

/** Counts bytes through the gunzip stream and stops a decompression bomb before it fills the disk. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) callback(corrupt(`the gzip stream unpacks to more than ${max} bytes`));
      else callback(null, chunk);
    },
  });
}

export async function openTarImage(
  path: string,
  gzipped: boolean,
  options: TarOpenOptions = {},
): Promise<ResolvingFileSystem> {
  let tarPath = path;
  let tempDir: string | undefined;
  const cleanup = async (): Promise<void> => {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };
  let handle: FileHandle | undefined;
  try {
    if (gzipped) {
      // Unpacked to a temporary file so members can be read in place without holding the archive in memory.
      tempDir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'imagetrust-tar-'));
      tarPath = join(tempDir, 'image.tar');
      await pipeline(
        createReadStream(path),
        createGunzip(),
        byteLimit(options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES),
        createWriteStream(tarPath),
      );
    }
    handle = await open(tarPath, 'r');
    const entries = await indexTar(handle);
    return new ResolvingFileSystem('tar', new TarBackend(handle, entries, cleanup));
  } catch (error) {
    await handle?.close().catch(() => {});
    await cleanup();
    throw toDiskError(error, 'The tar archive cannot be read');
  }
}
