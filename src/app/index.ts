// The composition root: builds every service from the configuration and a Clock; the server, the local
// commands, the benchmarks and the tests all get their services here.
export { type Clock, systemClock } from './clock.ts';
export {
  migrateLocalBlobsToS3,
  readAuditPublicKey,
  reconcileLocalStore,
  retireLocalKeks,
  rotateLocalKek,
  verifyLocalAuditLog,
} from './maintenance.ts';
export {
  type AdapterWrappers,
  type BackgroundWorkOptions,
  openServices,
  type ServiceOptions,
  type Services,
} from './services.ts';
