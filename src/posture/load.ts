// The I/O edge of the posture scan: finds a service's files under a configuration root (an /etc copy) or
// among files named one by one, in oslo.config's load order, reads them and stats them. Everything it
// returns is plain data for evaluatePosture.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, parse as parseYaml, type YAMLMap } from 'yaml';
import { validateConfig } from '../config/index.ts';
import { ImageTrustError } from '../errors/index.ts';
import { DEFAULT_RULES } from '../identity/index.ts';
import { lintPolicyFile } from '../identity/policy/index.ts';
import type { FileStat, ImageTrustMaterial, PostureMaterial, ServiceMaterial } from './evaluate.ts';
import { type ParsedLibvirtConf, parseLibvirtConf } from './libvirt-conf.ts';
import { OsloConfig, type ParsedIni, parseOsloIni } from './oslo-ini.ts';
import { PasteConfig, parsePasteIni } from './paste-ini.ts';
import type { PolicySource } from './service-policy.ts';

interface ServiceLayout {
  /** Config files in --config-file order (Debian's init scripts). */
  files: string[];
  /** Implicit config dirs oslo.config reads BEFORE the --config-file values (project then prog). */
  confDirs: string[];
  paste: string[];
  /** The files the guide's ownership and mode checks name. */
  guarded: string[];
}

export const SERVICE_LAYOUTS: Record<string, ServiceLayout> = {
  nova: {
    files: ['nova.conf', 'nova-compute.conf'],
    confDirs: ['nova.conf.d', 'nova-compute.conf.d'],
    paste: ['api-paste.ini'],
    guarded: ['nova.conf', 'api-paste.ini', 'policy.json', 'policy.yaml', 'rootwrap.conf'],
  },
  glance: {
    files: ['glance-api.conf'],
    confDirs: ['glance.conf.d', 'glance-api.conf.d'],
    paste: ['glance-api-paste.ini'],
    guarded: [
      'glance-api-paste.ini',
      'glance-api.conf',
      'glance-cache.conf',
      'glance-manage.conf',
      'glance-scrubber.conf',
      'glance-swift-store.conf',
      'policy.json',
      'policy.yaml',
      'schema-image.json',
      'schema.json',
    ],
  },
  cinder: { files: ['cinder.conf'], confDirs: ['cinder.conf.d'], paste: ['api-paste.ini'], guarded: [] },
  barbican: {
    files: ['barbican.conf'],
    confDirs: ['barbican.conf.d', 'barbican-api.conf.d'],
    paste: ['barbican-api-paste.ini'],
    guarded: ['barbican.conf', 'barbican-api-paste.ini', 'policy.json', 'policy.yaml'],
  },
};

/** libvirt's daemons: libvirtd.conf (or the modular virtproxyd.conf) and qemu.conf. */
const LIBVIRT_FILES: Record<string, string[]> = {
  libvirtd: ['libvirtd.conf', 'virtproxyd.conf'],
  qemu: ['qemu.conf'],
};

export interface LoadOptions {
  /** Configuration roots (holding nova/, glance/, ...) or single files and *.conf.d directories. */
  paths: string[];
}

function readText(file: string, problems: PostureMaterial['loadProblems']): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    problems.push({
      file,
      line: null,
      message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    });
    return undefined;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `*.conf` in a directory, sorted as Python's sorted(glob) does (code points). */
function confDirFiles(dir: string): string[] {
  if (!isDir(dir)) return [];
  return (
    readdirSync(dir)
      // glob's `*` does not match a leading dot: oslo never reads `.50-site.conf` (an editor's or a disabled copy).
      .filter((name) => name.endsWith('.conf') && !name.startsWith('.'))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((name) => path.join(dir, name))
      .filter(isFile)
  );
}

/** uid/gid to names from the scanned root's passwd and group when it has them, else the host's. */
function idNames(root: string | undefined): { user: Map<number, string>; group: Map<number, string> } {
  const read = (name: string) => {
    const map = new Map<number, string>();
    for (const candidate of [root && path.join(root, name), path.join('/etc', name)]) {
      if (!candidate || !isFile(candidate)) continue;
      for (const line of readFileSync(candidate, 'utf8').split('\n')) {
        const [entry, , id] = line.split(':');
        if (entry && id !== undefined && !map.has(Number(id))) map.set(Number(id), entry);
      }
      if (map.size > 0) break;
    }
    return map;
  };
  return { user: read('passwd'), group: read('group') };
}

interface Collected {
  /** The *.conf.d files, implicit or named: oslo reads them before any --config-file value. */
  confdFiles: string[];
  /** The *.conf.d directories already read (naming nova.conf and nova-compute.conf reads them once). */
  confDirs: Set<string>;
  /** The --config-file values, in order. */
  configFiles: string[];
  paste: string[];
  policyFiles: string[];
  dir?: string;
  root?: string;
}

/** Adds a *.conf.d directory's files to the service's, unless they are there already. */
function addConfDir(c: Collected, dir: string): void {
  if (c.confDirs.has(dir)) return;
  c.confDirs.add(dir);
  c.confdFiles.push(...confDirFiles(dir));
}

/** Reads every path into the scan's material. */
export function loadPostureMaterial(options: LoadOptions): PostureMaterial {
  const problems: PostureMaterial['loadProblems'] = [];
  const collected = new Map<string, Collected>();
  const libvirtFiles = new Map<string, string>();
  let imagetrustFile: { file: string; root?: string } | undefined;
  const entry = (service: string) => {
    let c = collected.get(service);
    if (!c) {
      c = { confdFiles: [], confDirs: new Set(), configFiles: [], paste: [], policyFiles: [] };
      collected.set(service, c);
    }
    return c;
  };
  for (const given of options.paths) {
    const p = path.resolve(given);
    if (isDir(p)) {
      const serviceOfDir = SERVICE_LAYOUTS[path.basename(p)] ? path.basename(p) : undefined;
      const confd = Object.entries(SERVICE_LAYOUTS).find(([, l]) => l.confDirs.includes(path.basename(p)));
      if (confd) {
        addConfDir(entry(confd[0]), p);
        continue;
      }
      // A service directory (…/nova) or a root holding them (…/etc).
      const roots = serviceOfDir
        ? [[serviceOfDir, p] as const]
        : Object.keys(SERVICE_LAYOUTS).map((s) => [s, path.join(p, s)] as const);
      for (const [service, dir] of roots) {
        if (!isDir(dir)) continue;
        const layout = SERVICE_LAYOUTS[service];
        const c = entry(service);
        c.dir = dir;
        c.root = serviceOfDir ? undefined : p;
        for (const d of layout.confDirs) addConfDir(c, path.join(dir, d));
        c.configFiles.push(...layout.files.map((f) => path.join(dir, f)).filter(isFile));
        c.paste.push(...layout.paste.map((f) => path.join(dir, f)).filter(isFile));
      }
      const ownConfig = [path.join(p, 'imagetrust', 'imagetrust.yaml'), path.join(p, 'imagetrust.yaml')].find(
        isFile,
      );
      if (ownConfig)
        imagetrustFile = { file: ownConfig, root: path.basename(p) === 'imagetrust' ? undefined : p };
      const libvirtDir = path.basename(p) === 'libvirt' ? p : path.join(p, 'libvirt');
      for (const [daemon, names] of Object.entries(LIBVIRT_FILES)) {
        const found = names.map((n) => path.join(libvirtDir, n)).find(isFile);
        if (found) libvirtFiles.set(daemon, found);
      }
      continue;
    }
    if (!isFile(p)) {
      problems.push({ file: given, line: null, message: 'no such file or directory' });
      continue;
    }
    const base = path.basename(p);
    if (
      base === 'imagetrust.yaml' ||
      (path.basename(path.dirname(p)) === 'imagetrust' && /\.ya?ml$/.test(base))
    ) {
      imagetrustFile = { file: p };
      continue;
    }
    const daemon = Object.entries(LIBVIRT_FILES).find(([, names]) => names.includes(base));
    if (daemon) {
      libvirtFiles.set(daemon[0], p);
      continue;
    }
    const byName = Object.entries(SERVICE_LAYOUTS).find(
      ([, l]) => l.files.includes(base) || l.paste.includes(base),
    );
    const parent = path.basename(path.dirname(p));
    const service = byName?.[0] ?? (SERVICE_LAYOUTS[parent] ? parent : undefined);
    if (!service) {
      problems.push({
        file: given,
        line: null,
        message:
          'not a file the posture scan knows (nova.conf, glance-api.conf, qemu.conf, policy.yaml in a service directory, ...)',
      });
      continue;
    }
    const c = entry(service);
    if (/\.(ya?ml|json)$/.test(base)) c.policyFiles.push(p);
    else if (SERVICE_LAYOUTS[service].paste.includes(base) && !SERVICE_LAYOUTS[service].files.includes(base))
      c.paste.push(p);
    else {
      // A config file named alone is read as the service reads it: with the *.conf.d directories beside
      // it, and (readServicePolicies) the policy file and policy.d that oslo finds next to it.
      c.configFiles.push(p);
      for (const d of SERVICE_LAYOUTS[service].confDirs) addConfDir(c, path.join(path.dirname(p), d));
    }
  }

  const services = new Map<string, ServiceMaterial>();
  const names = idNames([...collected.values()].find((c) => c.root)?.root);
  const parseAll = (files: string[]): ParsedIni[] =>
    files.flatMap((file) => {
      const text = readText(file, problems);
      return text === undefined ? [] : [parseOsloIni(text, file)];
    });
  for (const [service, c] of collected) {
    const config = new OsloConfig(parseAll([...c.confdFiles, ...c.configFiles]));
    const paste = new Map(
      c.paste.flatMap((file) => {
        // paste.deploy reads these with Python's configparser, not oslo.config.
        const text = readText(file, problems);
        return text === undefined
          ? []
          : [[path.basename(file), new PasteConfig(parsePasteIni(text, file))] as const];
      }),
    );
    const policy =
      c.policyFiles.length > 0
        ? readPolicies(c.policyFiles, [], problems)
        : readServicePolicies(config, c, problems);
    services.set(service, {
      config,
      mainFile: c.configFiles.at(-1) ?? c.confdFiles.at(-1) ?? c.dir ?? service,
      paste,
      policy,
      stats: c.dir ? statGuarded(c.dir, SERVICE_LAYOUTS[service].guarded, names) : [],
    });
  }
  const libvirt = new Map<string, ParsedLibvirtConf>();
  for (const [daemon, file] of libvirtFiles) {
    const text = readText(file, problems);
    if (text !== undefined) libvirt.set(daemon, parseLibvirtConf(text, file));
  }
  const imagetrust = imagetrustFile
    ? loadImageTrust(imagetrustFile.file, imagetrustFile.root, problems)
    : undefined;
  return {
    services,
    libvirt,
    ...(imagetrust ? { imagetrust } : {}),
    policyDefaults: loadPolicyDefaults(),
    loadProblems: problems,
  };
}

/** Where an absolute path of the live system lies inside the scanned copy of /etc. */
function rebase(file: string, c: Collected): string {
  if (c.root && file.startsWith('/etc/')) return path.join(c.root, file.slice('/etc/'.length));
  return file;
}

/**
 * oslo.config's find_file, which oslo.policy uses for policy_file and each of policy_dirs: an absolute
 * name as it is; a relative one in the directories of the --config-file values (the last first), then
 * in /etc/<service> and /etc of the scanned copy. Never relative to the policy file.
 */
function findFile(name: string, c: Collected): string | undefined {
  const exists = (p: string) => isFile(p) || isDir(p);
  if (path.isAbsolute(name)) {
    const p = rebase(name, c);
    return exists(p) ? p : undefined;
  }
  const dirs = [...c.configFiles.map((f) => path.dirname(f)).reverse(), c.dir, c.root];
  return dirs.flatMap((d) => (d === undefined ? [] : [path.join(d, name)])).find(exists);
}

/** The policy file and policy.d directories as [oslo_policy] names them (oslo.policy 4.0's defaults otherwise). */
function readServicePolicies(
  config: OsloConfig,
  c: Collected,
  problems: PostureMaterial['loadProblems'],
): PolicySource[] {
  // Nothing to look beside: only *.conf.d files were named.
  if (!c.dir && c.configFiles.length === 0) return [];
  const configured = config.get('oslo_policy', 'policy_file')?.value;
  let file = findFile(configured ?? 'policy.yaml', c);
  // oslo.policy 4.0 falls back to policy.json when the default policy.yaml is absent.
  if (!configured && file === undefined) file = findFile('policy.json', c);
  // policy_dirs is a MultiStrOpt: every line of every file adds one directory (a comma is no separator).
  const written = config.getAll('oslo_policy', 'policy_dirs').map((a) => a.value);
  const dirs = (written.length === 0 ? ['policy.d'] : written).flatMap((d) =>
    d ? (findFile(d, c) ?? []) : [],
  );
  return readPolicies(file !== undefined && isFile(file) ? [file] : [], dirs, problems);
}

function readPolicies(
  files: string[],
  dirs: string[],
  problems: PostureMaterial['loadProblems'],
): PolicySource[] {
  const all = [...files];
  for (const dir of dirs) {
    if (!isDir(dir)) continue;
    // oslo walks policy.d in sorted order, skipping dotfiles and subdirectories.
    for (const name of readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!name.startsWith('.') && isFile(path.join(dir, name))) all.push(path.join(dir, name));
    }
  }
  return all.flatMap((file) => {
    const text = readText(file, problems);
    return text === undefined ? [] : [{ file, text }];
  });
}

function statGuarded(dir: string, guarded: string[], names: ReturnType<typeof idNames>): FileStat[] {
  const stat = (file: string): FileStat | undefined => {
    try {
      const s = statSync(file);
      return {
        file,
        isDirectory: s.isDirectory(),
        owner: names.user.get(s.uid) ?? String(s.uid),
        group: names.group.get(s.gid) ?? String(s.gid),
        mode: s.mode & 0o7777,
      };
    } catch {
      return undefined;
    }
  };
  return [dir, ...guarded.map((f) => path.join(dir, f))].flatMap((f) => stat(f) ?? []);
}

let policyDefaults: Map<string, Record<string, string>> | undefined;

/** The services' in-code defaults for the rules the checks use (policy-defaults.yaml beside this module). */
export function loadPolicyDefaults(): Map<string, Record<string, string>> {
  policyDefaults ??= new Map(
    Object.entries(
      parseYaml(readFileSync(new URL('./policy-defaults.yaml', import.meta.url), 'utf8')) as Record<
        string,
        Record<string, string>
      >,
    ),
  );
  return policyDefaults;
}

/** The shipped catalogue's text. */
export function readShippedCatalogue(): { text: string; source: string } {
  const url = new URL('./checks.yaml', import.meta.url);
  return { text: readFileSync(url, 'utf8'), source: 'checks.yaml' };
}

/** The dotted path and line of every scalar or list the YAML file writes. */
function settingLines(map: YAMLMap, lines: LineCounter, prefix: string, out: Map<string, number>): void {
  for (const pair of map.items) {
    if (!isScalar(pair.key)) continue;
    const name = `${prefix}${String(pair.key.value)}`;
    const at = pair.key.range?.[0];
    if (at !== undefined) out.set(name, lines.linePos(at).line);
    if (isMap(pair.value)) settingLines(pair.value, lines, `${name}.`, out);
  }
}

/**
 * imagetrust's own configuration file, validated as the server validates it. Relative paths are taken
 * from the file's directory (the server takes them from its working directory, which a file scan cannot
 * know); IMAGETRUST_* environment overrides are not seen.
 */
function loadImageTrust(
  file: string,
  root: string | undefined,
  problems: PostureMaterial['loadProblems'],
): ImageTrustMaterial | undefined {
  const text = readText(file, problems);
  if (text === undefined) return undefined;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    problems.push({
      file,
      line: document.errors[0].linePos?.[0].line ?? null,
      message: `not valid YAML: ${document.errors[0].message.split('\n')[0]}`,
    });
    return undefined;
  }
  let settings: Record<string, unknown>;
  try {
    settings = validateConfig(document.toJS() ?? {}, file) as unknown as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof ImageTrustError)) throw error;
    problems.push({ file, line: null, message: error.message });
    return undefined;
  }
  const lines = new Map<string, number>();
  if (isMap(document.contents)) settingLines(document.contents, lineCounter, '', lines);
  const base = path.dirname(file);
  const resolve = (p: string) =>
    root && p.startsWith('/etc/') ? path.join(root, p.slice('/etc/'.length)) : path.resolve(base, p);
  const get = (dotted: string) =>
    dotted.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], settings);
  const dataDir = resolve(String(get('dataDir')));
  const names = idNames(root);
  const stats: ImageTrustMaterial['stats'] = [];
  const candidates: [ImageTrustMaterial['stats'][number]['role'], string][] = [
    ['dataDir', dataDir],
    ['kekFile', get('keys.kekFile') ? resolve(String(get('keys.kekFile'))) : path.join(dataDir, 'kek.json')],
    [
      'auditKey',
      get('audit.signingKeyFile')
        ? resolve(String(get('audit.signingKeyFile')))
        : path.join(dataDir, 'audit-log-key.pem'),
    ],
  ];
  if (get('tls.key')) candidates.push(['tlsKey', resolve(String(get('tls.key')))]);
  for (const [role, p] of candidates) {
    const stat = statGuarded(p, [], names)[0];
    if (stat) stats.push({ ...stat, role });
  }
  const policyFiles = get('policy.file') ? [resolve(String(get('policy.file')))] : [];
  const policyDirs = ((get('policy.dirs') as string[] | undefined) ?? []).map((d) =>
    path.resolve(
      policyFiles[0] ? path.dirname(policyFiles[0]) : base,
      root && d.startsWith('/etc/') ? resolve(d) : d,
    ),
  );
  const policyFindings = readPolicies(policyFiles.filter(isFile), policyDirs, problems).flatMap((source) =>
    lintPolicyFile(source.text, source.file, DEFAULT_RULES).map((f) => ({
      file: source.file,
      line: f.line,
      rule: f.rule,
      ruleId: f.ruleId,
      severity: f.severity,
      message: f.message,
    })),
  );
  return { file, settings, lines, policyFindings, stats };
}
