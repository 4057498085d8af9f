// `imagetrust containers check IMAGE [--policy FILE]`: would skopeo/podman allow this image? Loads the
// policy and registries.d (found where skopeo finds them), opens the image (registry, dir: or oci:), evaluates, prints the verdict;
// exit 0 when allowed, 1 when rejected, the catalogue's exit code when the check itself failed.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../app/clock.ts';
import {
  createPolicyMechanisms,
  evaluatePolicy,
  findPolicyFile,
  openPolicyImage,
  type PolicyDecision,
  parseCredentials,
  readPolicyFile,
  readRegistriesDir,
  signatureStorageFor,
} from '../containers/index.ts';
import { PolicyError, ValidationError } from '../errors/index.ts';
import { printResult } from './output.ts';

export interface CheckOptions {
  policy?: string;
  'registries.d'?: string;
  registriesD?: string;
  format?: string;
  tlsVerify?: string | boolean;
  certDir?: string;
  creds?: string;
}

/** Go's strconv.ParseBool, which skopeo's boolean flags use. */
function parseBool(value: string | boolean | undefined, flag: string): boolean {
  if (value === undefined) return true;
  if (typeof value === 'boolean') return value;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new ValidationError(
    'BAD_REQUEST',
    `invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

const SYSTEM_POLICY = '/etc/containers/policy.json';

/** c/image's search: the explicit file, else the user's if it exists, else the system one, which must exist. */
async function policyPath(explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  const found = await findPolicyFile(homedir(), SYSTEM_POLICY);
  if (found === SYSTEM_POLICY && !existsSync(SYSTEM_POLICY)) {
    const user = path.join(homedir(), '.config/containers/policy.json');
    throw new PolicyError(
      'POLICY_INVALID',
      `no policy.json file found at any of the following: ${JSON.stringify(user)}, ${JSON.stringify(SYSTEM_POLICY)} (give one with --policy)`,
    );
  }
  return found;
}

/** c/image's search: the explicit directory, else the user's if it exists, else the system one. */
function registriesDirectory(explicit: string | undefined): string {
  if (explicit) return explicit;
  const user = path.join(homedir(), '.config/containers/registries.d');
  return existsSync(user) ? user : '/etc/containers/registries.d';
}

function printDecision(imageName: string, decision: PolicyDecision, format: string): void {
  if (format !== 'text') {
    printResult({ image: imageName, ...decision }, { format });
  } else if (decision.allowed) {
    process.stdout.write('allowed\n');
  } else {
    process.stdout.write(`rejected: ${decision.reason}\n`);
  }
}

export async function runCheck(imageName: string, options: CheckOptions): Promise<void> {
  const format = options.format ?? 'text';
  const tlsVerify = parseBool(options.tlsVerify, 'tls-verify');
  let credentials: ReturnType<typeof parseCredentials> | undefined;
  if (options.creds !== undefined) {
    try {
      credentials = parseCredentials(options.creds);
    } catch (error) {
      throw new ValidationError('BAD_REQUEST', `--creds: ${(error as Error).message}`, { cause: error });
    }
  }
  const policy = await readPolicyFile(await policyPath(options.policy));
  const config = await readRegistriesDir(registriesDirectory(options['registries.d'] ?? options.registriesD));
  const manifestDigest = createPolicyMechanisms({ now: systemClock.now }).manifestDigest;
  const image = openPolicyImage(imageName, {
    signatureStorage: signatureStorageFor(config),
    tlsVerify,
    certDir: options.certDir,
    credentials,
    manifestDigest,
  });
  // As skopeo copy: the manifest is fetched (and checked against a digest reference) before the policy runs.
  await image.manifest();
  const decision = await evaluatePolicy(policy, image, createPolicyMechanisms({ now: systemClock.now }));
  printDecision(imageName, decision, format);
  process.exitCode = decision.allowed ? 0 : 1;
}
