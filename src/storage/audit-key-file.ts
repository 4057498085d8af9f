// The log's Ed25519 signing key in a PKCS#8 PEM file, made (mode 0600) on first start. Several processes
// may start at once: the first to create the file wins and the others read its key.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTreeHeadSigner, type TreeHeadSigner } from '../audit/index.ts';
import { ConfigError } from '../errors/index.ts';

export interface AuditKeyFileOptions {
  /** Make the key when the file is missing (a server's first start). Default true. */
  create?: boolean;
}

export async function openAuditSigningKey(
  file: string,
  options: AuditKeyFileOptions = {},
): Promise<TreeHeadSigner> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.create === false) {
      throw new ConfigError(`Cannot read the audit log signing key ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(`Cannot write the audit log signing key ${file}: ${(raced as Error).message}`, {
          cause: raced,
        });
      }
      pem = await readFile(file, 'utf8');
    }
  }
  try {
    return createTreeHeadSigner(createPrivateKey(pem));
  } catch (error) {
    throw new ConfigError(
      `The audit log signing key ${file} is not an Ed25519 private key (PKCS#8 PEM): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
