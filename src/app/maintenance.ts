// Operator commands that work on the local store without a running server: verifying the stored
// transparency log and rotating the key-encryption key. Wired here, like every service.
import { readFile } from 'node:fs/promises';
import { auditPublicKeyFromPem, type StoredLogReport, verifyStoredAuditLog } from '../audit/index.ts';
import type { ReconcileReport } from '../catalog/index.ts';
import { type ImageTrustConfig, resolveStoragePaths } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import {
  type RetirementReport,
  type RotationReport,
  retireUnusedKeks,
  rotateKeyEncryptionKey,
} from '../keys/index.ts';
import {
  FileBlobStore,
  FileKeyring,
  FileTreeHeadPin,
  type MigrationReport,
  migrateBlobs,
  openAuditSigningKey,
  openDatabase,
  openS3BlobStore,
  SqlAuditRepository,
  SqlImageRepository,
  SqlSecretRepository,
} from '../storage/index.ts';
import { type Clock, systemClock } from './clock.ts';
import { assertStoreExists, openServices } from './services.ts';

/**
 * Checks every stored entry and signed head, and that the log still reaches the largest head this host
 * signed (kept next to the signing key); with no `publicKeyFile`, against the service's own key.
 */
export async function verifyLocalAuditLog(
  config: ImageTrustConfig,
  publicKeyFile?: string,
): Promise<StoredLogReport> {
  // Verifying reads: a store that is not there is reported, never created.
  await assertStoreExists(config);
  const { databaseUrl, auditSigningKeyFile, auditHeadFile } = resolveStoragePaths(config);
  // Verification never makes a key: without the key file (or --public-key) there is nothing to check against.
  const publicKey = auditPublicKeyFromPem(
    publicKeyFile
      ? await readFile(publicKeyFile)
      : (await openAuditSigningKey(auditSigningKeyFile, { create: false })).publicKeyPem,
  );
  // Read before the log: a head signed meanwhile is then in the database as well.
  const pinned = await new FileTreeHeadPin(auditHeadFile).read();
  const db = await openDatabase(databaseUrl);
  try {
    return await verifyStoredAuditLog(new SqlAuditRepository(db), publicKey, { pinned });
  } finally {
    await db.close();
  }
}

/** The log's public key (PEM) from the store's signing key file; a missing key is reported, never made. */
export async function readAuditPublicKey(config: ImageTrustConfig): Promise<string> {
  await assertStoreExists(config);
  const { auditSigningKeyFile } = resolveStoragePaths(config);
  return (await openAuditSigningKey(auditSigningKeyFile, { create: false })).publicKeyPem;
}

/** Makes a new key-encryption key current and re-wraps every stored data key under it. */
export async function rotateLocalKek(
  config: ImageTrustConfig,
  options: { clock?: Clock } = {},
): Promise<RotationReport> {
  const { databaseUrl, kekFile } = resolveStoragePaths(config);
  // No keyring file means no secret was ever stored with one: refuse rather than start an empty keyring.
  const keyring = await new FileKeyring(kekFile, { create: false }).open();
  const db = await openDatabase(databaseUrl);
  try {
    return await rotateKeyEncryptionKey({
      secrets: new SqlSecretRepository(db),
      keyring,
      clock: options.clock ?? systemClock,
    });
  } finally {
    await db.close();
  }
}

/**
 * The second step of a rotation, once every process runs with the new current KEK: re-wraps what a
 * process still on the old keyring wrapped meanwhile, then drops the old KEKs that wrap nothing.
 */
export async function retireLocalKeks(config: ImageTrustConfig): Promise<RetirementReport> {
  const { databaseUrl, kekFile } = resolveStoragePaths(config);
  const keyring = await new FileKeyring(kekFile, { create: false }).open();
  const db = await openDatabase(databaseUrl);
  try {
    return await retireUnusedKeks({ secrets: new SqlSecretRepository(db), keyring });
  } finally {
    await db.close();
  }
}

/** Crash recovery on a local store: abandoned uploads, data no image holds, missing data. */
export async function reconcileLocalStore(
  config: ImageTrustConfig,
  options: { dryRun: boolean },
): Promise<ReconcileReport> {
  const services = await openServices(config, { recoverAtStart: false });
  try {
    return await services.recovery.reconcile({ dryRun: options.dryRun });
  } finally {
    await services.close();
  }
}

/** Image states whose data must exist (as recovery sees them): their blobs are what a migration copies. */
const HOLDS_DATA = new Set(['active', 'deactivated', 'killed', 'pending_delete', 'importing']);

/**
 * Copies every image's data from the filesystem store (`blobs.dir`) into the S3 store `blobs.s3`
 * describes, each copy verified against the image's recorded sha512; resumable (what is there is kept).
 * Switch `blobs.backend` to s3 once a run reports nothing left and nothing failed.
 */
export async function migrateLocalBlobsToS3(
  config: ImageTrustConfig,
  options: { dryRun: boolean; onBlob?: (key: string, outcome: string) => void },
): Promise<MigrationReport> {
  await assertStoreExists(config);
  if (!config.blobs.s3.endpoint || !config.blobs.s3.bucket) {
    throw new ConfigError(
      'blobs migrate --to s3 needs blobs.s3.endpoint and blobs.s3.bucket (IMAGETRUST_S3_ENDPOINT, IMAGETRUST_S3_BUCKET).',
    );
  }
  const { databaseUrl, blobDir, s3StagingDir } = resolveStoragePaths(config);
  const from = new FileBlobStore(blobDir);
  const to = await openS3BlobStore(config.blobs.s3, { stagingDir: s3StagingDir });
  const db = await openDatabase(databaseUrl);
  try {
    const images = new SqlImageRepository(db);
    const blobs = [];
    for (const holder of await images.listBlobHolders()) {
      if (!holder.blobKey || !HOLDS_DATA.has(holder.status)) continue;
      const image = await images.findImage(holder.id);
      blobs.push({
        key: holder.blobKey,
        imageId: holder.id,
        sha512: image?.os_hash_algo === 'sha512' ? image.os_hash_value : null,
      });
    }
    return await migrateBlobs({ from, to, blobs, dryRun: options.dryRun, onBlob: options.onBlob });
  } finally {
    await db.close();
    to.close();
  }
}
