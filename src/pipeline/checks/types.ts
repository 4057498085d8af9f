// What one offline compliance check returns, and the parameters a profile gives the checks.
import type { ImageProbe } from './image-probe.ts';

export type CheckStatus = 'pass' | 'fail' | 'not-applicable' | 'error';

/** The outcome of one check over one image: which files it read and why it decided as it did. */
export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  filesRead: string[];
  evidence: string[];
}

/** Parameters of the checks, as a profile sets them (defaults in profile.ts). */
export interface CheckParameters {
  approvedRepositoryHosts: string[];
  requiredUnits: string[];
  forbiddenUnits: string[];
  requiredKernelArgs: string[];
  forbiddenKernelArgs: string[];
  allowedUsers: string[];
  expectedInterfaces: string[];
}

export interface CheckOutcome {
  status: CheckStatus;
  evidence: string[];
}

/** One check: an id stable across releases, a title, and a decision over the probed image. */
export interface CheckDefinition {
  id: string;
  title: string;
  run(probe: ImageProbe, params: CheckParameters): Promise<CheckOutcome>;
}

export function verdict(problems: string[], notes: string[] = []): CheckOutcome {
  return { status: problems.length > 0 ? 'fail' : 'pass', evidence: [...problems, ...notes] };
}
