// Who owns an upload: this process, named so that another process on the same host can tell whether
// the owner still runs (a crashed owner's uploads are recovered at once; elsewhere the lease expires).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export interface UploadOwner {
  /** `<host>_<pid>_<random>`: letters, digits, `-` and `_` only (it also prefixes temporary blob ids). */
  readonly id: string;
  /** False only when `owner` is certainly gone: a process of this host that no longer runs. */
  isAlive(owner: string): boolean;
}

const hostTag = () =>
  hostname()
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 60) || 'host';

export function createUploadOwner(): UploadOwner {
  const host = hostTag();
  const id = `${host}_${process.pid}_${randomBytes(6).toString('hex')}`;
  return {
    id,
    isAlive(owner) {
      if (owner === id) return true;
      const match = /^(.*)_(\d+)_([0-9a-f]+)$/.exec(owner);
      // Another host, or a name we cannot read: only its lease can tell.
      if (!match || match[1] !== host) return true;
      try {
        process.kill(Number(match[2]), 0);
        // A process with that pid runs (perhaps another one reusing it): let the lease decide.
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}
