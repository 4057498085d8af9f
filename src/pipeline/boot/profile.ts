// The boot-test profile: which booted tests run and what they expect (distribution, modules, kernel
// arguments, units, timeouts), parsed from YAML or JSON; unknown keys are errors, as in the scan's profile.
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../errors/index.ts';
import { BOOT_TEST_IDS, type BootTestId } from './types.ts';

const seconds = z.number().positive();

const ProfileSchema = z
  .object({
    name: z.string().min(1).default('custom'),
    tests: z.array(z.string().min(1)).optional(),
    skip: z.array(z.string().min(1)).default([]),
    user: z.string().min(1).default('debian'),
    distribution: z
      .object({ id: z.string().min(1), versionId: z.string().min(1).optional() })
      .strict()
      .default({ id: 'debian', versionId: '12' }),
    requiredModules: z.array(z.string().min(1)).default(['virtio_net', 'virtio_blk', 'virtio_rng']),
    requiredKernelArgs: z.array(z.string().min(1)).default(['console=ttyS0', 'net.ifnames=0']),
    forbiddenKernelArgs: z.array(z.string().min(1)).default(['selinux=0', 'enforcing=0', 'audit=0']),
    requiredUnits: z
      .array(z.string().min(1))
      .default([
        'ssh.service',
        'qemu-guest-agent.service',
        'systemd-networkd.service',
        'systemd-resolved.service',
      ]),
    cloudInitDatasource: z.string().min(1).default('NoCloud'),
    /** The root partition may fall short of the overlay by this much: the boot and EFI partitions, alignment. */
    diskSizeMarginMiB: z.number().int().nonnegative().default(768),
    properties: z.record(z.string(), z.string()).default({ hw_rng_model: 'virtio' }),
    timeouts: z
      .object({ boot: seconds.default(600), default: seconds.default(180) })
      .catchall(seconds)
      .default({ boot: 600, default: 180 }),
  })
  .strict();

/** A parsed profile with every default filled in; `tests` lists what runs, in catalogue order. */
export interface BootProfile {
  name: string;
  tests: BootTestId[];
  user: string;
  distribution: { id: string; versionId?: string };
  requiredModules: string[];
  requiredKernelArgs: string[];
  forbiddenKernelArgs: string[];
  requiredUnits: string[];
  cloudInitDatasource: string;
  diskSizeMarginMiB: number;
  properties: Record<string, string>;
  /** Seconds: `boot` for the guest agent to answer, `default` per test, or per test id. */
  timeouts: Record<string, number> & { boot: number; default: number };
}

/** Tests that take a full boot (or two) under TCG get more time than the default. */
const SLOW_TESTS: Partial<Record<BootTestId, number>> = {
  check_cloud_init: 600,
  check_systemd_service_units: 600,
  does_vm_reboot_correctly: 900,
  does_vm_stop_and_start_correctly: 900,
};

export const DEFAULT_PROFILE_NAME = 'debian-12-cloud';

/** The profile's timeout for a test, in milliseconds. */
export function testTimeoutMs(profile: BootProfile, id: BootTestId): number {
  return (profile.timeouts[id] ?? SLOW_TESTS[id] ?? profile.timeouts.default) * 1000;
}

const isTestId = (id: string): id is BootTestId => (BOOT_TEST_IDS as readonly string[]).includes(id);

/**
 * Parses a profile (YAML or JSON; empty text is the built-in `debian-12-cloud`); throws CONFIG_INVALID
 * naming the bad key or test id.
 */
export function parseBootProfile(text: string): BootProfile {
  let raw: unknown;
  try {
    raw = parse(text) ?? { name: DEFAULT_PROFILE_NAME };
  } catch (error) {
    throw new ConfigError(`Profile is not valid YAML or JSON: ${(error as Error).message}`, { cause: error });
  }
  const result = ProfileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where =
      issue?.path.join('.') || (issue && 'keys' in issue ? (issue.keys as string[]).join(', ') : '');
    throw new ConfigError(`Profile is invalid at ${where || 'top level'}: ${issue?.message ?? 'invalid'}`);
  }
  const { tests, skip, timeouts, ...rest } = result.data;
  for (const id of [...(tests ?? []), ...skip, ...Object.keys(timeouts)]) {
    if (id !== 'boot' && id !== 'default' && !isTestId(id)) {
      throw new ConfigError(`Profile names an unknown boot test: ${id}`);
    }
  }
  const chosen = BOOT_TEST_IDS.filter((id) => (tests ? tests.includes(id) : true) && !skip.includes(id));
  return Object.freeze({ ...rest, tests: chosen, timeouts: Object.freeze({ ...timeouts }) });
}

/** Applies `--property key=value` flags over the profile's image properties. */
export function withProperties(profile: BootProfile, properties: Record<string, string>): BootProfile {
  return Object.freeze({ ...profile, properties: { ...profile.properties, ...properties } });
}
