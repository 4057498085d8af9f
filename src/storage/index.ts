// Storage adapters: metadata on SQLite or PostgreSQL, blobs on the filesystem or an S3 object store, one-pass digests, and the
// keyring file of key-encryption keys.
export { FileTreeHeadPin } from './audit-head-file.ts';
export { type AuditKeyFileOptions, openAuditSigningKey } from './audit-key-file.ts';
export { FileBlobStore, type FileBlobStoreOptions } from './blobs/filesystem.ts';
export { openS3BlobStore, S3BlobStore, type S3BlobStoreOptions } from './blobs/s3.ts';
export { type BlobToMigrate, type MigrationReport, migrateBlobs } from './blobs/s3-migrate.ts';
export { openDataDirectory } from './data-directory.ts';
export {
  closeDigestWorkers,
  createDigester,
  digestRingsAllocated,
  warmDigestWorkers,
} from './digest/index.ts';
export { FileKeyring, type FileKeyringOptions, staticKeyring } from './keyring-file.ts';
export { openLoginNameKey } from './login-name-key-file.ts';
export { createFileOnce, type PrivateWriteOptions, replaceFile, STALE_TEMPORARY_MS } from './private-file.ts';
export { releaseBuffer } from './release-buffer.ts';
export { SqlAuditRepository } from './sql/audit-repository.ts';
export { SqlContainerTrustRepository } from './sql/container-trust-repository.ts';
export type { SqlDatabase, SqlExecutor } from './sql/database.ts';
export { SqlEventOutbox } from './sql/event-outbox.ts';
export { SqlIdentityRepository } from './sql/identity-repository.ts';
export { SqlImageRepository } from './sql/image-repository.ts';
export { openDatabase, redactUrl } from './sql/index.ts';
export { type LeaseClaim, SqlJobLeases } from './sql/job-lease-repository.ts';
export { SqlMetadefRepository } from './sql/metadef-repository.ts';
export { appliedSchemaVersion, migrateDatabase, SCHEMA_VERSION } from './sql/migrations.ts';
export { SqlReleaseRepository } from './sql/release-repository.ts';
export { SqlSecretRepository } from './sql/secret-repository.ts';
export { SqlTaskRepository } from './sql/task-repository.ts';
export { createWebDownloader, type WebDownloaderOptions } from './web-download.ts';
