// What `imagetrust build` builds, read from an Oz TDL template or our YAML form of it. The YAML is
// turned into TDL first, so one linter (Oz's rules, then hardening) judges both; lint errors and what
// the builder does not do (ISO installs, distributions it cannot bootstrap) stop the build here.
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { lintTemplate, type OzTemplate, type TemplateFinding } from '../template/index.ts';
import { BuildError } from './errors.ts';

/** A Debian-family release the builder knows how to bootstrap, by the template's os name and version. */
interface Release {
  family: 'debian' | 'ubuntu';
  suite: string;
  /** The archive keyring that verifies the suite's InRelease file (from debian-archive-keyring / ubuntu-keyring). */
  keyring: string;
  components: string[];
}

const RELEASES: Record<string, Record<string, Release>> = {
  debian: {
    '11': {
      family: 'debian',
      suite: 'bullseye',
      keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
      components: ['main'],
    },
    '12': {
      family: 'debian',
      suite: 'bookworm',
      keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
      components: ['main'],
    },
  },
  ubuntu: {
    '22.04': {
      family: 'ubuntu',
      suite: 'jammy',
      keyring: '/usr/share/keyrings/ubuntu-archive-keyring.gpg',
      components: ['main', 'universe'],
    },
    '24.04': {
      family: 'ubuntu',
      suite: 'noble',
      keyring: '/usr/share/keyrings/ubuntu-archive-keyring.gpg',
      components: ['main', 'universe'],
    },
  },
};

export interface BuildRepository {
  name: string;
  /** The `deb` line's URI, suite and components. */
  uri: string;
  suite: string;
  components: string[];
  /** false only when the template says so explicitly (the linter has warned). */
  signed: boolean;
  /** Kept in the image's apt sources after the build. */
  persisted: boolean;
}

export interface BuildTemplate {
  name: string;
  description: string | null;
  distribution: { name: string; version: string; arch: 'amd64' } & Release;
  mirror: string;
  /** Packages the template adds to the builder's cloud base set. */
  packages: string[];
  repositories: BuildRepository[];
  /** Files written into the image root, in template order. */
  files: { path: string; content: Buffer }[];
  /** Shell scripts run in the image root after the files, in template order. */
  commands: { name: string; script: string }[];
  kernelParams: string[];
  diskBytes: number;
  /** A root password set in the template (hashed before use); null means root stays locked. */
  rootPassword: string | null;
  /** sysprep operations (`--operations` syntax); null means the builder's profile decides. */
  sysprepOperations: string[] | null;
  /** sha256 of the template text as given: the provenance names it. */
  digest: string;
}

export interface ReadBuildTemplateResult {
  template: BuildTemplate;
  /** Every lint finding, errors included only when they did not stop the build (they do). */
  findings: TemplateFinding[];
  /** The TDL the linter saw (the YAML form's translation, or the text itself). */
  tdl: string;
}

/** Oz's default disk: 10 GiB. */
const DEFAULT_DISK_BYTES = 10 * 2 ** 30;
const MIN_DISK_BYTES = 2 * 2 ** 30;

/**
 * Parses, lints and checks a template for the builder. Throws TEMPLATE_UNBUILDABLE with every error
 * finding in the message when it cannot be built.
 */
export function readBuildTemplate(text: string, source: string): ReadBuildTemplateResult {
  const digest = createHash('sha256').update(text).digest('hex');
  const tdl = text.trimStart().startsWith('<') ? text : yamlTemplateToTdl(text, source);
  const { template, findings } = lintTemplate(tdl, { builder: true });
  const errors = findings.filter((finding) => finding.severity === 'error');
  if (!template || errors.length) {
    throw new BuildError(
      'TEMPLATE_UNBUILDABLE',
      `${source} has ${errors.length} lint error${errors.length === 1 ? '' : 's'}; nothing was built:\n${errors
        .map((e) => `  ${e.line}:${e.column} ${e.rule} ${e.message} (${e.fix})`)
        .join('\n')}`,
    );
  }
  return { template: toBuildTemplate(template, text, source, digest), findings, tdl };
}

function refuse(source: string, message: string): never {
  throw new BuildError('TEMPLATE_UNBUILDABLE', `${source}: ${message}`);
}

function toBuildTemplate(oz: OzTemplate, text: string, source: string, digest: string): BuildTemplate {
  const install = oz.os.install;
  if (install?.type === 'iso') {
    refuse(
      source,
      "<install type='iso'> needs an installer to run inside a VM; imagetrust builds from a distribution's package archive. Use <install type='url'><url>https://deb.debian.org/debian</url></install>, or build from the ISO with Oz (oz-install) and bring the result to `imagetrust sysprep`, `scan` and `test-boot`.",
    );
  }
  const osName = oz.os.name?.value ?? '';
  const version = oz.os.version?.value ?? '';
  const release = RELEASES[osName.toLowerCase()]?.[version];
  if (!release) {
    refuse(
      source,
      `imagetrust builds ${Object.entries(RELEASES)
        .flatMap(([name, versions]) => Object.keys(versions).map((v) => `${name} ${v}`))
        .join(', ')}; the template asks for ${osName} ${version}.`,
    );
  }
  const arch = oz.os.arch?.value;
  if (arch !== 'x86_64' && arch !== 'amd64')
    refuse(source, `only x86_64 images are built here; the template asks for ${arch}.`);
  const mirror = install?.url?.value.trim().replace(/\/+$/, '');
  if (!mirror || !/^https?:\/\//.test(mirror))
    refuse(source, "<install type='url'> needs the archive's http(s) URL in <url>.");
  if (oz.precommands.length) {
    refuse(
      source,
      '<precommands> run before the packages in Oz; put them in <commands> (they run after the packages here).',
    );
  }
  for (const item of [...oz.files, ...oz.commands]) {
    if (item.type === 'url') {
      refuse(
        source,
        `${item.name ?? 'a file or command'} is fetched from a URL at build time with nothing that pins its bytes; embed it (type raw or base64).`,
      );
    }
  }
  const decode = (item: { type: string; content: string }) =>
    item.type === 'base64'
      ? Buffer.from(item.content.replace(/\s+/g, ''), 'base64')
      : Buffer.from(item.content);
  const files = oz.files.map((file) => {
    const path = file.name ?? '';
    if (!path.startsWith('/') || path.split('/').includes('..')) {
      refuse(source, `file ${JSON.stringify(path)} must be an absolute path inside the image, without "..".`);
    }
    return { path, content: decode(file) };
  });
  const commands = oz.commands.map((command, index) => ({
    name: command.name ?? `command ${index + 1}`,
    script: decode(command).toString('utf8'),
  }));
  const repositories = oz.repositories.map((repository, index): BuildRepository => {
    const [uri, suite, ...components] = (repository.url?.value ?? '').trim().split(/\s+/);
    if (!uri || !/^https?:\/\//.test(uri))
      refuse(source, `repository ${repository.name ?? index + 1} needs an http(s) URL.`);
    return {
      name: repository.name ?? `repository-${index + 1}`,
      uri,
      suite: suite ?? release.suite,
      components: components.length ? components : ['main'],
      signed: repository.signed?.value !== false,
      persisted: repository.persisted?.value !== false,
    };
  });
  const rootPassword = oz.os.rootpw?.value ?? null;
  if (
    rootPassword !== null &&
    [...rootPassword].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    refuse(source, '<rootpw> holds a line break or another control character.');
  }
  const diskBytes = oz.disk?.bytes ?? DEFAULT_DISK_BYTES;
  if (diskBytes < MIN_DISK_BYTES)
    refuse(source, `the disk must be at least 2 GiB; the template asks for ${diskBytes} bytes.`);
  return {
    name: oz.name?.value ?? 'image',
    description: oz.description ?? null,
    distribution: { name: osName, version, arch: 'amd64', ...release },
    mirror,
    packages: [...new Set(oz.packages.map((p) => p.name ?? '').filter(Boolean))],
    repositories,
    files,
    commands,
    kernelParams: (oz.os.kernelparam?.value ?? '').split(/\s+/).filter(Boolean),
    diskBytes,
    rootPassword,
    sysprepOperations: readSysprepOperations(text),
    digest,
  };
}

/** Our YAML form may name sysprep operations; TDL has no element for them. */
function readSysprepOperations(text: string): string[] | null {
  if (text.trimStart().startsWith('<')) return null;
  const value = (parseYaml(text) as { sysprep?: { operations?: unknown } } | null)?.sysprep?.operations;
  return Array.isArray(value) ? value.map(String) : null;
}

const YAML_KEYS = new Set([
  'name',
  'description',
  'os',
  'disk',
  'packages',
  'repositories',
  'files',
  'commands',
  'sysprep',
]);

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The YAML template as TDL, element for element:
 * name, description, os {name, version, arch, install {type, url}, rootpw, kernelparam}, disk {size},
 * packages [name], repositories [{name, url, signed, persisted, sslverify}],
 * files [{name, content, type}], commands [{name, content, type}], sysprep {operations}.
 */
export function yamlTemplateToTdl(text: string, source: string): string {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 50 });
  } catch (error) {
    if (error instanceof RangeError) refuse(source, 'the YAML template is nested too deeply.');
    refuse(source, `not TDL (XML) and not YAML: ${(error as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    refuse(source, 'the YAML template must be a mapping.');
  const t = doc as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (!YAML_KEYS.has(key))
      refuse(source, `unknown key ${JSON.stringify(key)}; expected ${[...YAML_KEYS].join(', ')}.`);
  }
  const str = (value: unknown, what: string): string => {
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    return refuse(source, `${what} must be a string.`);
  };
  const list = (value: unknown, what: string): unknown[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) refuse(source, `${what} must be a list.`);
    return value;
  };
  // A misspelt key would be dropped without a word (a kernel parameter never set): every level is checked.
  const known = (value: unknown, what: string, keys: readonly string[]) => {
    if (value === undefined) return;
    if (!value || typeof value !== 'object' || Array.isArray(value))
      refuse(source, `${what} must be a mapping.`);
    for (const key of Object.keys(value as object)) {
      if (!keys.includes(key))
        refuse(source, `unknown key ${JSON.stringify(key)} in ${what}; expected ${keys.join(', ')}.`);
    }
  };
  known(t.os, 'os', ['name', 'version', 'arch', 'install', 'rootpw', 'kernelparam']);
  known((t.os as Record<string, unknown> | undefined)?.install, 'os.install', ['type', 'url', 'iso']);
  known(t.disk, 'disk', ['size']);
  known(t.sysprep, 'sysprep', ['operations']);
  for (const r of list(t.repositories, 'repositories'))
    known(r, 'repositories[]', ['name', 'url', 'signed', 'persisted', 'sslverify']);
  for (const key of ['files', 'commands'] as const)
    for (const item of list(t[key], key)) known(item, `${key}[]`, ['name', 'content', 'type']);
  const element = (name: string, value: unknown) => `<${name}>${escapeXml(str(value, name))}</${name}>`;
  const out: string[] = ['<template>'];
  if (t.name !== undefined) out.push(`  ${element('name', t.name)}`);
  if (t.description !== undefined) out.push(`  ${element('description', t.description)}`);
  const os = (t.os ?? {}) as Record<string, unknown>;
  out.push('  <os>');
  for (const key of ['name', 'version', 'arch'])
    if (os[key] !== undefined) out.push(`    ${element(key, os[key])}`);
  const install = os.install as Record<string, unknown> | undefined;
  if (install) {
    const type = str(install.type ?? 'url', 'os.install.type');
    const media = type === 'iso' ? 'iso' : 'url';
    out.push(
      `    <install type='${escapeXml(type)}'>${install[media] !== undefined ? element(media, install[media]) : ''}</install>`,
    );
  }
  if (os.rootpw !== undefined) out.push(`    ${element('rootpw', os.rootpw)}`);
  if (os.kernelparam !== undefined) out.push(`    ${element('kernelparam', os.kernelparam)}`);
  out.push('  </os>');
  const disk = t.disk as Record<string, unknown> | undefined;
  if (disk?.size !== undefined) out.push(`  <disk>${element('size', disk.size)}</disk>`);
  const packages = list(t.packages, 'packages');
  if (packages.length) {
    out.push('  <packages>');
    for (const p of packages)
      out.push(
        `    <package name='${escapeXml(str(typeof p === 'object' && p ? (p as { name?: unknown }).name : p, 'a package'))}'/>`,
      );
    out.push('  </packages>');
  }
  const repositories = list(t.repositories, 'repositories');
  if (repositories.length) {
    out.push('  <repositories>');
    for (const r of repositories as Record<string, unknown>[]) {
      const flags = ['signed', 'persisted', 'sslverify']
        .filter((flag) => r[flag] !== undefined)
        .map((flag) => element(flag, typeof r[flag] === 'boolean' ? (r[flag] ? 'yes' : 'no') : r[flag]));
      out.push(
        `    <repository name='${escapeXml(str(r.name, 'repositories[].name'))}'>${element('url', r.url)}${flags.join('')}</repository>`,
      );
    }
    out.push('  </repositories>');
  }
  for (const [key, child] of [
    ['files', 'file'],
    ['commands', 'command'],
  ] as const) {
    const items = list(t[key], key) as Record<string, unknown>[];
    if (!items.length) continue;
    out.push(`  <${key}>`);
    for (const item of items) {
      const type = item.type === undefined ? 'raw' : str(item.type, `${key}[].type`);
      out.push(
        `    <${child} name='${escapeXml(str(item.name, `${key}[].name`))}' type='${escapeXml(type)}'>${escapeXml(str(item.content ?? '', `${key}[].content`))}</${child}>`,
      );
    }
    out.push(`  </${key}>`);
  }
  out.push('</template>', '');
  return out.join('\n');
}
