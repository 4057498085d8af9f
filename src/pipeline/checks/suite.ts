// Runs the selected offline checks over one opened image; a check that throws is reported as `error`.
import type { ImageFileSystem } from '../../disk/index.ts';
import { ACCOUNT_RULES } from './account-rules.ts';
import { ImageProbe } from './image-probe.ts';
import { NETWORK_RULES } from './network-rules.ts';
import { PACKAGE_RULES } from './package-rules.ts';
import type { ScanProfile } from './profile.ts';
import { REPOSITORY_RULES } from './repository-rules.ts';
import { SYSTEM_RULES } from './system-rules.ts';
import type { CheckDefinition, CheckResult } from './types.ts';

export const OFFLINE_CHECKS: readonly CheckDefinition[] = [
  ...SYSTEM_RULES,
  ...PACKAGE_RULES,
  ...ACCOUNT_RULES,
  ...REPOSITORY_RULES,
  ...NETWORK_RULES,
];

export const CHECK_IDS: readonly string[] = OFFLINE_CHECKS.map((check) => check.id);

export async function runCheck(
  fs: ImageFileSystem,
  check: CheckDefinition,
  profile: ScanProfile,
): Promise<CheckResult> {
  const probe = new ImageProbe(fs);
  try {
    const outcome = await check.run(probe, profile.params);
    return { id: check.id, title: check.title, ...outcome, filesRead: [...probe.filesRead] };
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      id: check.id,
      title: check.title,
      status: 'error',
      filesRead: [...probe.filesRead],
      evidence: [`${code ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`],
    };
  }
}

/** Every check the profile selects, in catalogue order. */
export async function runChecks(fs: ImageFileSystem, profile: ScanProfile): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of OFFLINE_CHECKS) {
    if (profile.checks && !profile.checks.includes(check.id)) continue;
    if (profile.skip.includes(check.id)) continue;
    results.push(await runCheck(fs, check, profile));
  }
  return results;
}
