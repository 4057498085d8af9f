// What the key manager needs from the outside world: secret rows and the keyring. Adapters live in storage/.
import type { SecretAcl } from './acl.ts';
import type { Keyring } from './envelope.ts';
import type { SecretMetadata } from './metadata.ts';
import type { SealedPayload, SecretRecord, StoredContentType } from './model.ts';
import type { DateFilterOp, SecretSortKey } from './requests.ts';

export interface SecretListQuery {
  projectId: string;
  /** When set, the secrets whose ACLs list this user, whatever their project, instead of the project's. */
  aclUserId?: string;
  /** Secrets whose expiration is at or before this instant (ISO) are left out, as Barbican does. */
  now: string;
  /** SQL LIKE patterns, matched case-insensitively. */
  name?: string;
  algorithm?: string;
  mode?: string;
  bitLength?: number;
  secretType?: string;
  dateFilters: { column: 'created' | 'updated' | 'expiration'; op: DateFilterOp; value: string }[];
  /** Empty means creation order. */
  sort: { key: SecretSortKey; dir: 'asc' | 'desc' }[];
  offset: number;
  limit: number;
}

/** A wrapped data key as rotation sees it: enough to re-wrap, nothing of the payload. */
export interface WrappedKeyRow {
  id: string;
  projectId: string;
  contentType: StoredContentType;
  kekId: string;
  wrappedKey: string;
}

export interface SecretRepository {
  /** Inserts a new secret; throws CONFLICT when the id exists. */
  createSecret(secret: SecretRecord): Promise<void>;
  /** The secret with this id, expired or not, with its sealed payload. */
  findSecret(id: string): Promise<SecretRecord | null>;
  /** One page of a project's unexpired secrets, and how many match in all. */
  listSecrets(query: SecretListQuery): Promise<{ secrets: SecretRecord[]; total: number }>;
  /** Stores the payload of a secret that has none yet; false if it already had one (or is gone). */
  storePayload(
    id: string,
    contentType: StoredContentType,
    sealed: SealedPayload,
    updatedAt: string,
  ): Promise<boolean>;
  /** Deletes a secret and, in the same transaction, its ACLs and metadata; false if it was already gone. */
  deleteSecret(id: string): Promise<boolean>;
  /** A secret's ACLs, in ACL_OPERATIONS order; none when it has only the implicit default. */
  findAcls(secretId: string): Promise<SecretAcl[]>;
  /**
   * Makes `acls` the secret's whole set of ACLs (an empty list removes them all), in one transaction;
   * with `secretUpdatedAt`, the secret's own updated time too (Barbican stamps the secret on PUT and PATCH).
   */
  replaceAcls(secretId: string, acls: readonly SecretAcl[], secretUpdatedAt: string | null): Promise<void>;
  /** A secret's user metadata, keys in order. */
  findMetadata(secretId: string): Promise<SecretMetadata>;
  /** Makes `metadata` the secret's whole user metadata (empty removes it all), in one transaction. */
  replaceMetadata(secretId: string, metadata: SecretMetadata, updatedAt: string): Promise<void>;
  /** Adds one key; false when the secret already has it. */
  addMetadatum(secretId: string, key: string, value: string, updatedAt: string): Promise<boolean>;
  /** Sets one key's value, adding the key when it is absent. */
  setMetadatum(secretId: string, key: string, value: string, updatedAt: string): Promise<void>;
  /** Removes one key; nothing happens when it is absent. */
  deleteMetadatum(secretId: string, key: string): Promise<void>;
  /** Rows with a payload whose data key is not wrapped by `exceptKekId`, in id order after `afterId`. */
  listWrappedKeys(options: {
    exceptKekId: string;
    afterId: string | null;
    limit: number;
  }): Promise<WrappedKeyRow[]>;
  /** Replaces a wrapped data key only if the row still holds `from`; false if it changed meanwhile. */
  replaceWrappedKey(
    id: string,
    from: Pick<SealedPayload, 'kekId' | 'wrappedKey'>,
    to: Pick<SealedPayload, 'kekId' | 'wrappedKey'>,
  ): Promise<boolean>;
  /** How many payloads each KEK wraps. */
  countByKek(): Promise<Record<string, number>>;
}

/** Supplies the keyring; a file-backed provider notices when another process rotated it. */
export interface KeyringProvider {
  load(): Promise<Keyring>;
}

/** A keyring that can also be written (the file one); rotation needs it. */
export interface KeyringStore extends KeyringProvider {
  save(keyring: Keyring): Promise<void>;
}

export interface Clock {
  now(): Date;
}
