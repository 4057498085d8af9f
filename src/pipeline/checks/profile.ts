// The scan profile: which checks run and their parameters, parsed from YAML; unknown keys are errors.
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../errors/index.ts';
import type { CheckParameters } from './types.ts';

const ProfileSchema = z
  .object({
    checks: z.array(z.string().min(1)).optional(),
    skip: z.array(z.string().min(1)).default([]),
    approvedRepositoryHosts: z.array(z.string().min(1)).default(['deb.debian.org', 'security.debian.org']),
    requiredUnits: z.array(z.string().min(1)).default(['ssh.service|sshd.service', 'cloud-init.service']),
    forbiddenUnits: z.array(z.string().min(1)).default(['autofs.service']),
    requiredKernelArgs: z.array(z.string().min(1)).default(['console=ttyS0']),
    forbiddenKernelArgs: z.array(z.string().min(1)).default(['selinux=0', 'enforcing=0', 'audit=0']),
    allowedUsers: z.array(z.string().min(1)).default([]),
    expectedInterfaces: z.array(z.string().min(1)).default(['eth0']),
  })
  .strict();

/** A parsed profile: `checks` undefined means every check; `params` has every default filled in. */
export interface ScanProfile {
  checks?: string[];
  skip: string[];
  params: CheckParameters;
}

/** Parses profile YAML (empty text is the default profile); throws CONFIG_INVALID naming the bad key. */
export function parseProfile(text: string, knownChecks: readonly string[]): ScanProfile {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    throw new ConfigError(`Profile is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const result = ProfileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where =
      issue?.path.join('.') || (issue && 'keys' in issue ? (issue.keys as string[]).join(', ') : '');
    throw new ConfigError(`Profile is invalid at ${where || 'top level'}: ${issue?.message ?? 'invalid'}`);
  }
  const { checks, skip, ...params } = result.data;
  for (const id of [...(checks ?? []), ...skip])
    if (!knownChecks.includes(id)) throw new ConfigError(`Profile names an unknown check: ${id}`);
  return Object.freeze({ ...(checks ? { checks } : {}), skip, params: Object.freeze(params) });
}
