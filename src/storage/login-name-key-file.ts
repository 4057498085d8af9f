// The deployment's key for hashing unknown user names of failed logins (32 random bytes, base64, in a
// 0600 file in the data directory), made on first start. Several processes may start at once: the key
// is written to a temporary file and linked into place, so only one key wins and nobody reads half of it.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../errors/index.ts';
import { createFileOnce } from './private-file.ts';

const KEY_BYTES = 32;

export async function openLoginNameKey(file: string): Promise<Buffer> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') {
      throw new ConfigError(`Cannot read the login name key ${file}: ${error.message}`, { cause: error });
    }
    return null;
  });
  if (!info) await createKeyFile(file);
  else if ((info.mode & 0o077) !== 0) {
    throw new ConfigError(
      `The login name key ${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it.`,
    );
  }
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(`The login name key ${file} must hold base64 of ${KEY_BYTES} bytes.`);
  }
  return key;
}

async function createKeyFile(file: string): Promise<void> {
  // Another process may make it first: then its key is the deployment's.
  await createFileOnce(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`).catch((error: Error) => {
    throw new ConfigError(`Cannot create the login name key ${file}: ${error.message}`, { cause: error });
  });
}
