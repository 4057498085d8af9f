// The log's Ed25519 signing key in a PKCS#8 PEM file, made (mode 0600) on first start. Several processes
// may start at once: the key is linked into place whole, the first link wins and the others read its key.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createTreeHeadSigner, type TreeHeadSigner } from '../audit/index.ts';
import { ConfigError } from '../errors/index.ts';
import { createFileOnce } from './private-file.ts';

export interface AuditKeyFileOptions {
  /** Make the key when the file is missing (a server's first start). Default true. */
  create?: boolean;
}

export async function openAuditSigningKey(
  file: string,
  options: AuditKeyFileOptions = {},
): Promise<TreeHeadSigner> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT' || options.create === false) {
      throw new ConfigError(`Cannot read the audit log signing key ${file}: ${error.message}`, {
        cause: error,
      });
    }
    return null;
  });
  if (!info) {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await createFileOnce(file, pem).catch((error: Error) => {
      throw new ConfigError(`Cannot write the audit log signing key ${file}: ${error.message}`, {
        cause: error,
      });
    });
  } else if ((info.mode & 0o077) !== 0) {
    throw new ConfigError(
      `The audit log signing key ${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it.`,
    );
  }
  const pem = await readFile(file, 'utf8').catch((error: Error) => {
    throw new ConfigError(`Cannot read the audit log signing key ${file}: ${error.message}`, {
      cause: error,
    });
  });
  try {
    return createTreeHeadSigner(createPrivateKey(pem));
  } catch (error) {
    throw new ConfigError(
      `The audit log signing key ${file} is not an Ed25519 private key (PKCS#8 PEM): ${(error as Error).message}`,
      { cause: error },
    );
  }
}
