// What a sysprep operation plans: a list of changes to files inside the image, each with its reason.
import type { ImageFileSystem } from '../../disk/index.ts';

/** One change to one path; `write` carries the new content, the others act on the path alone. */
export type SysprepChange =
  | { op: string; action: 'delete'; path: string; reason: string }
  | { op: string; action: 'truncate'; path: string; reason: string }
  | { op: string; action: 'remove-symlink'; path: string; reason: string }
  | { op: string; action: 'remove-dir'; path: string; reason: string }
  | { op: string; action: 'write'; path: string; reason: string; content: Buffer };

export type SysprepAction = SysprepChange['action'];

/** Parameters an operation may need; planners never read the time or the host. */
export interface SysprepContext {
  /** Accounts removed by `user-account`. */
  users: readonly string[];
  /** systemd units disabled by `disable-units`. */
  units: readonly string[];
  /** Run `ssh-hostkeys` even when nothing regenerates the keys at boot. */
  force: boolean;
}

/** A named operation, modelled on virt-sysprep's: a pure planner over a read-only view of the image. */
export interface SysprepOperation {
  name: string;
  defaultEnabled: boolean;
  description: string;
  plan(fs: ImageFileSystem, context: SysprepContext): Promise<SysprepChange[]>;
}
