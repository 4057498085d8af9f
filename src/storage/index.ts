// Storage adapters: metadata on SQLite or PostgreSQL, blobs on the filesystem, one-pass digests.
export { FileBlobStore, type FileBlobStoreOptions } from './blobs/filesystem.ts';
export { closeDigestWorkers, createDigester, warmDigestWorkers } from './digest/index.ts';
export type { SqlDatabase, SqlExecutor } from './sql/database.ts';
export { SqlIdentityRepository } from './sql/identity-repository.ts';
export { SqlImageRepository } from './sql/image-repository.ts';
export { openDatabase, redactUrl } from './sql/index.ts';
export { migrateDatabase, SCHEMA_VERSION } from './sql/migrations.ts';
