// Key-encryption-key rotation: a new KEK becomes current, every data key is re-wrapped under it (payload
// ciphertexts are never touched), and KEKs that no longer wrap anything may be retired.
import { ImageTrustError } from '../errors/index.ts';
import { addCurrentKek, createKek, type Keyring, retireKeks, rewrapDataKey } from './envelope.ts';
import type { Clock, KeyringStore, SecretRepository } from './ports.ts';

export interface RotationOptions {
  secrets: SecretRepository;
  keyring: KeyringStore;
  clock: Clock;
  /** After re-wrapping, drop every old KEK that wraps no data key any more. */
  retireOld?: boolean;
  batchSize?: number;
}

export interface RotationReport {
  /** The new current KEK. */
  current: string;
  previous: string;
  rewrapped: number;
  /** Rows whose data key could not be unwrapped (missing KEK or tampering); their KEKs are kept. */
  failed: { id: string; reason: string }[];
  retired: string[];
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

/** Rotates the KEK: generate, make current, save, re-wrap, and optionally retire the unused old ones. */
export async function rotateKeyEncryptionKey(options: RotationOptions): Promise<RotationReport> {
  const before = await options.keyring.load();
  let keyring = addCurrentKek(before, createKek(options.clock.now()));
  // Saved first: from here on new payloads are wrapped by the new KEK, and the old ones still open.
  await options.keyring.save(keyring);
  const { rewrapped, failed } = await rewrapAllDataKeys(options.secrets, keyring, options.batchSize);
  const counts = await options.secrets.countByKek();
  const old = keyring.keys.filter((k) => k.id !== keyring.current).map((k) => k.id);
  const retired = options.retireOld ? old.filter((id) => !counts[id]) : [];
  if (retired.length > 0) {
    keyring = retireKeks(keyring, retired);
    await options.keyring.save(keyring);
  }
  const kept = Object.fromEntries(
    old.filter((id) => !retired.includes(id)).map((id) => [id, counts[id] ?? 0]),
  );
  return { current: keyring.current, previous: before.current, rewrapped, failed, retired, kept };
}
