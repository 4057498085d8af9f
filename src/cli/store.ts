// Loads the configuration from CLI flags for commands that open the local store.
import { type ConfigInput, type ImageTrustConfig, loadConfig } from '../config/index.ts';

export interface StoreFlags {
  config?: string;
  dataDir?: string;
  database?: string;
}

export function configFromFlags(flags: StoreFlags, extra: ConfigInput = {}): ImageTrustConfig {
  return loadConfig({
    file: flags.config,
    overrides: {
      ...extra,
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      ...(flags.database ? { database: flags.database } : {}),
    },
  });
}
