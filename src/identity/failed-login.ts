// How a failed login names its user in the transparency log. People type passwords into the user field,
// so a name is logged only when such a user exists; any other name as an HMAC under the deployment's key,
// which still lets an operator count attempts on one name without the log ever holding what was typed.
import { createHmac } from 'node:crypto';

export interface FailedLoginUser {
  /** The name (or id) as submitted, only when it names an existing user. */
  user: string | null;
  /** HMAC-SHA256 (hex) of a submitted name that names no user; absent when `user` is set or none was given. */
  user_hmac?: string;
}

export function toFailedLoginUser(
  submitted: string | null,
  exists: boolean,
  key: Buffer | null,
): FailedLoginUser {
  if (submitted === null) return { user: null };
  if (exists) return { user: submitted };
  // Without a key there is nothing safe to record about the name.
  if (!key) return { user: null };
  return { user: null, user_hmac: createHmac('sha256', key).update(submitted, 'utf8').digest('hex') };
}
