// Finds the server and the credentials the way OpenStack's clients do: `--os-*` flags over `OS_*`
// environment variables over the `clouds.yaml` entry named by `--os-cloud`/`OS_CLOUD`.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import type YAML from 'yaml';
import { ConfigError } from '../errors/index.ts';

export interface AuthOptions {
  authUrl: string;
  username?: string;
  userId?: string;
  password?: string;
  projectName?: string;
  projectId?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  /** A token to use instead of a password (OS_TOKEN). */
  token?: string;
  regionName?: string;
  interface: 'public' | 'internal' | 'admin';
  /** PEM bundle of CAs to trust for https endpoints (OS_CACERT). */
  cacert?: string;
  /** Client certificate and key for servers that require them (OS_CERT, OS_KEY). */
  cert?: string;
  key?: string;
}

/** The `--os-*` flags, as commander hands them over (camelCase). */
export interface AuthFlags {
  osCloud?: string;
  osAuthUrl?: string;
  osUsername?: string;
  osUserId?: string;
  osPassword?: string;
  osProjectName?: string;
  osProjectId?: string;
  osUserDomainName?: string;
  osUserDomainId?: string;
  osProjectDomainName?: string;
  osProjectDomainId?: string;
  osToken?: string;
  osRegionName?: string;
  osInterface?: string;
  osCacert?: string;
  osCert?: string;
  osKey?: string;
}

const FIELDS: [keyof AuthOptions, flag: keyof AuthFlags, env: string, cloudKey: string][] = [
  ['authUrl', 'osAuthUrl', 'OS_AUTH_URL', 'auth.auth_url'],
  ['username', 'osUsername', 'OS_USERNAME', 'auth.username'],
  ['userId', 'osUserId', 'OS_USER_ID', 'auth.user_id'],
  ['password', 'osPassword', 'OS_PASSWORD', 'auth.password'],
  ['projectName', 'osProjectName', 'OS_PROJECT_NAME', 'auth.project_name'],
  ['projectId', 'osProjectId', 'OS_PROJECT_ID', 'auth.project_id'],
  ['userDomainName', 'osUserDomainName', 'OS_USER_DOMAIN_NAME', 'auth.user_domain_name'],
  ['userDomainId', 'osUserDomainId', 'OS_USER_DOMAIN_ID', 'auth.user_domain_id'],
  ['projectDomainName', 'osProjectDomainName', 'OS_PROJECT_DOMAIN_NAME', 'auth.project_domain_name'],
  ['projectDomainId', 'osProjectDomainId', 'OS_PROJECT_DOMAIN_ID', 'auth.project_domain_id'],
  ['token', 'osToken', 'OS_TOKEN', 'auth.token'],
  ['regionName', 'osRegionName', 'OS_REGION_NAME', 'region_name'],
  ['interface', 'osInterface', 'OS_INTERFACE', 'interface'],
  ['cacert', 'osCacert', 'OS_CACERT', 'cacert'],
  ['cert', 'osCert', 'OS_CERT', 'cert'],
  ['key', 'osKey', 'OS_KEY', 'key'],
];

/** Where openstacksdk looks for clouds.yaml, in order. */
export function cloudsYamlPaths(env: Record<string, string | undefined>, cwd: string): string[] {
  if (env.OS_CLIENT_CONFIG_FILE) return [env.OS_CLIENT_CONFIG_FILE];
  const home = env.HOME ?? homedir();
  return [
    path.join(cwd, 'clouds.yaml'),
    path.join(home, '.config', 'openstack', 'clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ];
}

/**
 * The YAML parser, loaded on the first clouds.yaml: every command resolves its options here, and most
 * never read one (loading it costs 15 ms of start-up, which the boot gate pays per image).
 */
const loadYaml = (): typeof YAML => createRequire(import.meta.url)('yaml');

function readCloud(
  name: string,
  env: Record<string, string | undefined>,
  cwd: string,
): Record<string, unknown> {
  for (const file of cloudsYamlPaths(env, cwd)) {
    if (!existsSync(file)) continue;
    let parsed: { clouds?: Record<string, Record<string, unknown>> };
    try {
      parsed = loadYaml().parse(readFileSync(file, 'utf8')) ?? {};
    } catch (error) {
      throw new ConfigError(`${file} is not valid YAML: ${(error as Error).message}`, { cause: error });
    }
    const cloud = parsed.clouds?.[name];
    if (cloud) return cloud;
  }
  throw new ConfigError(
    `Cloud '${name}' was not found in clouds.yaml (looked in ${cloudsYamlPaths(env, cwd).join(', ')}).`,
  );
}

function lookup(object: Record<string, unknown>, dotted: string): string | undefined {
  let node: unknown = object;
  for (const key of dotted.split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
  return node === undefined || node === null ? undefined : String(node);
}

/** Resolves flags, environment and clouds.yaml into one set of options; names what is missing. */
export function resolveAuthOptions(
  flags: AuthFlags,
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): AuthOptions {
  const cloudName = flags.osCloud ?? env.OS_CLOUD;
  const cloud = cloudName ? readCloud(cloudName, env, cwd) : {};
  const resolved: Record<string, string> = {};
  for (const [field, flag, envName, cloudKey] of FIELDS) {
    const value = flags[flag] ?? (env[envName] || undefined) ?? lookup(cloud, cloudKey);
    if (value !== undefined && value !== '') resolved[field] = value;
  }
  if (!resolved.authUrl) {
    throw new ConfigError(
      'No identity endpoint: set OS_AUTH_URL (e.g. https://host:9292/identity/v3), pass --os-auth-url, or name a cloud with --os-cloud.',
    );
  }
  if (!resolved.token && !resolved.password) {
    throw new ConfigError(
      'No credentials: set OS_PASSWORD (or OS_TOKEN), pass --os-password, or use --os-cloud.',
    );
  }
  const iface = (resolved.interface ?? 'public').replace(/URL$/, '');
  if (!['public', 'internal', 'admin'].includes(iface)) {
    throw new ConfigError(`Unknown interface '${resolved.interface}': use public, internal or admin.`);
  }
  return { ...(resolved as unknown as AuthOptions), interface: iface as AuthOptions['interface'] };
}
