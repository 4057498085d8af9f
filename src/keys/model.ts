// Secrets as Barbican v1 models them: a record of metadata owned by one project, with an optional
// payload that exists only encrypted at rest, and the JSON view Barbican answers with.

/** Barbican's secret types, in the order its schema lists them (error messages quote this order). */
export const SECRET_TYPES = [
  'symmetric',
  'passphrase',
  'private',
  'public',
  'certificate',
  'opaque',
] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

/** The content types a payload is stored under once normalised (Barbican's INTERNAL_CTYPES targets). */
export type StoredContentType = 'text/plain' | 'application/octet-stream' | 'application/pkcs8';

/** The encrypted payload as stored: a data key wrapped by a key-encryption key, and the sealed payload. */
export interface SealedPayload {
  kekId: string;
  /** base64 of nonce ‖ wrapped data key ‖ GCM tag. */
  wrappedKey: string;
  /** base64 of nonce ‖ ciphertext ‖ GCM tag. */
  ciphertext: string;
}

/** One secret row. Timestamps are ISO 8601 UTC with milliseconds (`2024-03-01T10:00:00.000Z`). */
export interface SecretRecord {
  id: string;
  projectId: string;
  creatorId: string | null;
  name: string | null;
  secretType: SecretType;
  algorithm: string | null;
  bitLength: number | null;
  mode: string | null;
  expiration: string | null;
  status: 'ACTIVE';
  /** null until a payload is stored (two-step creation). */
  contentType: StoredContentType | null;
  sealed: SealedPayload | null;
  createdAt: string;
  updatedAt: string;
}

/** The key-manager API microversions this server speaks. 1.1 adds `consumers` to secret views. */
export const KEY_MANAGER_VERSIONS = ['1.0', '1.1'] as const;
export type KeyManagerVersion = (typeof KEY_MANAGER_VERSIONS)[number];

/**
 * Barbican prints naive UTC datetimes with Python's isoformat: no zone, microseconds only when non-zero.
 * We keep milliseconds, so a non-zero fraction is padded to six digits.
 */
export function toBarbicanTime(iso: string | null): string | null {
  if (iso === null) return null;
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,3}))?Z$/.exec(iso);
  if (!match) return iso;
  const millis = (match[2] ?? '').padEnd(3, '0');
  return Number(millis) === 0 ? match[1] : `${match[1]}.${millis}000`;
}

/** The metadata view of `GET /v1/secrets/{id}`, with Barbican's key order; `secretRef` is the full href. */
export function toSecretView(
  secret: SecretRecord,
  secretRef: string,
  version: KeyManagerVersion = '1.0',
): Record<string, unknown> {
  const view: Record<string, unknown> = {
    created: toBarbicanTime(secret.createdAt),
    updated: toBarbicanTime(secret.updatedAt),
    status: secret.status,
    name: secret.name,
    secret_type: secret.secretType,
    expiration: toBarbicanTime(secret.expiration),
    algorithm: secret.algorithm,
    bit_length: secret.bitLength,
    mode: secret.mode,
    creator_id: secret.creatorId,
  };
  // Consumers arrived in 1.1; this server registers none, so the list is always empty.
  if (version !== '1.0') view.consumers = [];
  if (secret.contentType) view.content_types = { default: secret.contentType };
  view.secret_ref = secretRef;
  return view;
}

/** True when the secret has expired at `now`; Barbican treats expired secrets as absent. */
export function isExpired(secret: Pick<SecretRecord, 'expiration'>, now: Date): boolean {
  return secret.expiration !== null && secret.expiration <= now.toISOString();
}
