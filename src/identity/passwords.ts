// Password hashing with scrypt (memory-hard), stored with its parameters so they can be raised later;
// comparison is constant-time.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';

const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const MAX_MEMORY = 128 * N * R * 2;

/**
 * How many derivations run at once. scrypt runs on libuv's threadpool, which the blob store's file reads
 * and writes share, and each derivation holds 32 MiB: a burst of logins could take every pool thread,
 * stalling uploads and downloads meanwhile, and 8 logins at once raised the resident size to 263 MB.
 * One per core, never more than the pool less two; the rest wait their turn (in order).
 */
const THREADPOOL = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const MAX_DERIVATIONS = Math.max(1, Math.min(availableParallelism(), THREADPOOL - 2));
let running = 0;
const waiting: (() => void)[] = [];

/** Derivations running and waiting now (for metrics and tests). */
export function passwordDerivations(): { running: number; waiting: number; max: number } {
  return { running, waiting: waiting.length, max: MAX_DERIVATIONS };
}

async function withDerivationSlot<T>(work: () => Promise<T>): Promise<T> {
  // Taken synchronously when free, so callers started together queue in the order they called.
  if (running < MAX_DERIVATIONS) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line, or is given back.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return withDerivationSlot(() => deriveNow(password, salt, n, r, p));
}

function deriveNow(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_LENGTH,
      { N: n, r, p, maxmem: Math.max(MAX_MEMORY, 128 * n * r * 2) },
      (e, key) => (e ? reject(e) : resolve(key)),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a password against a stored hash; false for any malformed hash rather than throwing. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (!stored) return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every(Number.isSafeInteger)) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const actual = await derive(password, salt, n, r, p);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A random password for the first admin when none is configured. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
