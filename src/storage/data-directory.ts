// The data directory holds the database (password and token hashes, secret metadata, the log), the keys
// and the blobs. It is made private (0700) when it is created, and a directory other local users may
// enter is refused at start rather than silently changed under the operator.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { ConfigError } from '../errors/index.ts';

/** Creates `dir` with mode 0700 whatever the umask, or checks that an existing one is private. */
export async function openDataDirectory(dir: string): Promise<void> {
  try {
    // mkdir returns the first directory it made: the data directory itself was made when it returns any.
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await chmod(dir, 0o700);
  } catch (error) {
    throw new ConfigError(`Cannot create the data directory ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw new ConfigError(`The data directory ${dir} is not a directory.`);
  if ((info.mode & 0o077) !== 0) {
    throw new ConfigError(
      `The data directory ${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)}): it holds ` +
        `password hashes, keys and the audit log. Make it private to the service's user: chmod 700 ${dir}`,
    );
  }
}
