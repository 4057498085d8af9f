// The trusted build keys provenance attestations are verified with, read once at start from the PEM
// files provenance.trustedKeys names. A file that cannot be read or holds no usable key stops the start.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import { type TrustedKey, toTrustedKey } from '../pipeline/provenance/index.ts';

export async function loadProvenanceKeys(files: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const file of files) {
    const resolved = path.resolve(file);
    let pem: Buffer;
    try {
      pem = await readFile(resolved);
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration: provenance.trustedKeys: cannot read ${resolved}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      keys.push(toTrustedKey(pem));
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration: provenance.trustedKeys: ${resolved} holds no Ed25519 or ECDSA P-256 public key in PEM.`,
        { cause: error },
      );
    }
  }
  return keys;
}
