// The thin I/O edge of the policy domain: finding and reading policy.json and key files, with the
// texts skopeo prints when that fails.
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PolicyError } from '../../errors/index.ts';
import { parsePolicy } from './parse.ts';
import type { Policy } from './types.ts';

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
};

/** Go's *PathError text for a failed file read: `open <path>: no such file or directory`. */
export function goFileErrorText(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const op = code === 'EISDIR' ? 'read' : 'open';
  return `${op} ${file}: ${GO_ERRNO_TEXT[code] ?? (error as Error).message}`;
}

/** Reads a key, certificate or CA file; the rejection carries Go's wording, as c/image reports it. */
export async function readKeyFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new PolicyError('SIGNATURE_REJECTED', goFileErrorText(file, error), { cause: error });
  }
}

/** c/image's search order when no --policy is given: the user's file if it exists, else the system one. */
export async function findPolicyFile(home: string | undefined, systemPath = '/etc/containers/policy.json') {
  if (home) {
    const user = path.join(home, '.config/containers/policy.json');
    try {
      await access(user, constants.F_OK);
      return user;
    } catch {
      // Fall through to the system file.
    }
  }
  return systemPath;
}

/** Reads and parses a policy file; errors read `invalid policy in "<file>": <reason>` as c/image's do. */
export async function readPolicyFile(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PolicyError('POLICY_INVALID', goFileErrorText(file, error), { cause: error });
  }
  try {
    return parsePolicy(text);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new PolicyError('POLICY_INVALID', `invalid policy in ${JSON.stringify(file)}: ${error.message}`, {
      cause: error,
      ...(error.position ? { position: error.position } : {}),
    });
  }
}
