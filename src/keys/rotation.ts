// Key-encryption-key rotation in two steps: a new KEK becomes current and every data key is re-wrapped
// under it (payload ciphertexts are never touched); later, once no process still wraps with an old KEK,
// the old KEKs that wrap nothing are retired. One step would pull a key from under running servers.
import { ImageTrustError } from '../errors/index.ts';
import { addCurrentKek, createKek, type Keyring, retireKeks, rewrapDataKey } from './envelope.ts';
import type { Clock, KeyringStore, SecretRepository } from './ports.ts';

export interface RotationOptions {
  secrets: SecretRepository;
  keyring: KeyringStore;
  clock: Clock;
  batchSize?: number;
}

export interface RotationReport {
  /** The new current KEK. */
  current: string;
  previous: string;
  rewrapped: number;
  /** Rows whose data key could not be unwrapped (missing KEK or tampering); their KEKs are kept. */
  failed: { id: string; reason: string }[];
  /** Old KEKs still in the keyring, with how many data keys each still wraps. */
  kept: Record<string, number>;
}

/** Re-wraps every data key not under the keyring's current KEK; returns how many were re-wrapped. */
export async function rewrapAllDataKeys(
  secrets: SecretRepository,
  keyring: Keyring,
  batchSize = 200,
): Promise<{ rewrapped: number; failed: RotationReport['failed'] }> {
  let rewrapped = 0;
  const failed: RotationReport['failed'] = [];
  let afterId: string | null = null;
  for (;;) {
    const rows = await secrets.listWrappedKeys({ exceptKekId: keyring.current, afterId, limit: batchSize });
    if (rows.length === 0) break;
    for (const row of rows) {
      const binding = { secretId: row.id, projectId: row.projectId, contentType: row.contentType };
      try {
        const next = rewrapDataKey(keyring, binding, row);
        // A row deleted or changed meanwhile is simply left alone.
        if (await secrets.replaceWrappedKey(row.id, row, next)) rewrapped++;
      } catch (error) {
        if (!(error instanceof ImageTrustError) || error.code !== 'SECRET_CORRUPT') throw error;
        failed.push({ id: row.id, reason: error.message });
      }
    }
    afterId = rows[rows.length - 1].id;
  }
  return { rewrapped, failed };
}

/** Rotates the KEK: generate, make current, save, re-wrap. Old KEKs stay until `retireUnusedKeks`. */
export async function rotateKeyEncryptionKey(options: RotationOptions): Promise<RotationReport> {
  const before = await options.keyring.load();
  const keyring = addCurrentKek(before, createKek(options.clock.now()));
  // Saved first: from here on new payloads are wrapped by the new KEK, and the old ones still open.
  await options.keyring.save(keyring);
  const { rewrapped, failed } = await rewrapAllDataKeys(options.secrets, keyring, options.batchSize);
  return {
    current: keyring.current,
    previous: before.current,
    rewrapped,
    failed,
    kept: await oldKekUse(options.secrets, keyring),
  };
}

export interface RetirementReport {
  current: string;
  /** Data keys a process still on an old keyring had wrapped since the rotation, now re-wrapped. */
  rewrapped: number;
  failed: RotationReport['failed'];
  retired: string[];
  /** Old KEKs kept because data keys still need them, with how many. */
  kept: Record<string, number>;
}

/** The second step: re-wrap stragglers under the current KEK, then drop every old KEK that wraps nothing. */
export async function retireUnusedKeks(options: {
  secrets: SecretRepository;
  keyring: KeyringStore;
  batchSize?: number;
}): Promise<RetirementReport> {
  let keyring = await options.keyring.load();
  const { rewrapped, failed } = await rewrapAllDataKeys(options.secrets, keyring, options.batchSize);
  const use = await oldKekUse(options.secrets, keyring);
  const retired = Object.keys(use).filter((id) => use[id] === 0);
  if (retired.length > 0) {
    keyring = retireKeks(keyring, retired);
    await options.keyring.save(keyring);
  }
  const kept = Object.fromEntries(Object.entries(use).filter(([, count]) => count > 0));
  return { current: keyring.current, rewrapped, failed, retired, kept };
}

/** Every old KEK of the keyring with how many data keys it still wraps. */
async function oldKekUse(secrets: SecretRepository, keyring: Keyring): Promise<Record<string, number>> {
  const counts = await secrets.countByKek();
  return Object.fromEntries(
    keyring.keys.filter((k) => k.id !== keyring.current).map((k) => [k.id, counts[k.id] ?? 0]),
  );
}
