// Evaluates the check catalogue over loaded configuration: pure, no I/O. The loader (load.ts) reads the
// files, stats and exports; everything here decides from plain data, so every check is tested without a disk.
import path from 'node:path';
import type { CheckDefinition, Condition, Expect, Severity, ValueType } from './catalogue.ts';
import { servicesOf } from './catalogue.ts';
import type { LibvirtValue, ParsedLibvirtConf } from './libvirt-conf.ts';
import {
  normalizeSection,
  type OptionAlias,
  type OsloConfig,
  parseOsloBool,
  parseOsloList,
  parseOsloNumber,
} from './oslo-ini.ts';
import type { PasteConfig } from './paste-ini.ts';
import { decidePolicy, effectivePolicy, PERSONAS, type PolicySource, ruleTarget } from './service-policy.ts';

/** One finding, the record of the JSON output. */
export interface PostureFinding {
  check: string;
  severity: Severity;
  subject: string;
  location: { file: string; line: number | null };
  message: string;
  remediation: string;
  reference: string;
}

export interface FileStat {
  file: string;
  isDirectory: boolean;
  owner: string;
  group: string;
  /** Permission bits (mode & 0o7777). */
  mode: number;
}

/** An oslo.config service (nova, glance, cinder, barbican) as loaded. */
export interface ServiceMaterial {
  config: OsloConfig;
  /** The file findings about unset options point at (nova.conf, glance-api.conf, ...). */
  mainFile: string;
  /** Other INI files of the service by base name (paste pipelines). */
  paste: Map<string, PasteConfig>;
  /** The policy file then policy.d files, in load order. */
  policy: PolicySource[];
  /** Configuration directory and files with their owner and mode, when stat was possible. */
  stats: FileStat[];
  /** Option names read as MultiStrOpt (accumulating, so never "shadowed"). */
}

export interface Flavor {
  name: string;
  id?: string;
  properties: Record<string, string>;
  /** The export file or API the record came from, for the finding's location. */
  source: string;
}

export interface ImageRecord {
  id: string;
  name?: string;
  visibility?: string;
  properties: Record<string, unknown>;
  /** False for `image list --long` rows, which carry no properties: property checks skip them. */
  propertiesKnown: boolean;
  /** The export file or API the record came from, for the finding's location. */
  source: string;
}

/** An imagetrust deployment's own configuration (imagetrust.yaml), for its posture. */
export interface ImageTrustMaterial {
  file: string;
  /** The validated configuration as plain data, defaults filled in. */
  settings: Record<string, unknown>;
  /** The line of each dotted setting the file writes. */
  lines: Map<string, number>;
  /** The configured policy files' lint findings (imagetrust's own rule names and defaults). */
  policyFindings: {
    file: string;
    line: number;
    rule: string;
    ruleId: string;
    severity: Severity;
    message: string;
  }[];
  /** The data directory and secret files, by role, when they exist. */
  stats: (FileStat & { role: 'dataDir' | 'kekFile' | 'tlsKey' | 'auditKey' })[];
}

export interface PostureMaterial {
  services: Map<string, ServiceMaterial>;
  libvirt: Map<string, ParsedLibvirtConf>;
  flavors?: Flavor[];
  images?: ImageRecord[];
  imagetrust?: ImageTrustMaterial;
  /** A service's in-code policy defaults, for the rules the checks use. */
  policyDefaults: Map<string, Record<string, string>>;
  /** Problems the loader met (a file it could not read), reported under OSP-CFG-INVALID. */
  loadProblems: { file: string; line: number | null; message: string }[];
}

/** Options oslo.config accumulates over every occurrence (MultiStrOpt): repeating them is not a trap. */
const MULTI_STR = new Set([
  'filter_scheduler/available_filters',
  'DEFAULT/config_source',
  'oslo_policy/policy_dirs',
]);

type Typed = boolean | number | string | string[];

interface Effective {
  /** undefined: not set and no default. */
  value?: Typed;
  explicit: boolean;
  file?: string;
  line?: number;
  invalid?: string;
}

function toTyped(
  raw: string | LibvirtValue,
  type: ValueType,
  choices?: readonly string[],
): { value?: Typed; invalid?: string } {
  if (Array.isArray(raw))
    return type === 'list' ? { value: raw } : { invalid: 'a list where a value belongs' };
  switch (type) {
    case 'bool': {
      if (typeof raw === 'number') return { value: raw !== 0 };
      const b = parseOsloBool(raw);
      return b === undefined ? { invalid: `"${raw}" is not a boolean` } : { value: b };
    }
    case 'int':
    case 'float': {
      if (typeof raw === 'number')
        return type === 'int' && !Number.isInteger(raw)
          ? { invalid: `${raw} is not an integer` }
          : { value: raw };
      // An empty number is unset for oslo (None, even over a default), not invalid.
      const n = parseOsloNumber(raw, type);
      if (n === undefined)
        return { invalid: `"${raw}" is not ${type === 'int' ? 'an integer' : 'a number'}` };
      return n === null ? {} : { value: n };
    }
    case 'list':
      return { value: typeof raw === 'number' ? [String(raw)] : parseOsloList(raw) };
    case 'string':
      // oslo's String type with choices compares exactly: `Enabled` is not `enabled`, and the service raises.
      if (choices && !choices.includes(String(raw)))
        return { invalid: `"${raw}" is not one of ${choices.join(', ')}` };
      return { value: String(raw) };
  }
}

function defaultOf(def: unknown): Typed | undefined {
  if (def === undefined) return undefined;
  if (Array.isArray(def)) return def.map(String);
  return def as Typed;
}

function splitOption(option: string): { section: string; key: string } {
  const at = option.lastIndexOf('/');
  return at < 0
    ? { section: 'DEFAULT', key: option }
    : { section: option.slice(0, at), key: option.slice(at + 1) };
}

function aliasesOf(list: readonly string[] | undefined): OptionAlias[] {
  return (list ?? []).map((alias) => splitOption(alias.includes('/') ? alias : `DEFAULT/${alias}`));
}

function effectiveOption(config: OsloConfig, spec: Condition | CheckDefinition): Effective {
  const { section, key } = splitOption(spec.option ?? '');
  const found = config.get(section, key, aliasesOf(spec.aliases));
  if (!found) return { value: defaultOf(spec.default), explicit: false };
  const typed = toTyped(found.value, spec.type, spec.choices);
  return { ...typed, explicit: true, file: found.file, line: found.line };
}

function effectiveLibvirt(conf: ParsedLibvirtConf, spec: Condition | CheckDefinition): Effective {
  for (const key of [spec.option ?? '', ...(spec.aliases ?? [])]) {
    const entry = conf.entries.get(key);
    if (entry)
      return { ...toTyped(entry.value, spec.type), explicit: true, file: conf.file, line: entry.line };
  }
  return { value: defaultOf(spec.default), explicit: false };
}

/** Does the value pass every test of `expect`? An unset value without a default passes all but `set`. */
export function meetsExpectation(effective: Effective, expect: Expect): boolean {
  const { value } = effective;
  if (
    expect.set &&
    (!effective.explicit ||
      value === undefined ||
      value === '' ||
      (Array.isArray(value) && value.length === 0))
  )
    return false;
  if (expect.unset && effective.explicit) return false;
  if (value === undefined) return true;
  const same = (a: unknown, b: unknown) => String(a).toLowerCase() === String(b).toLowerCase();
  const items = Array.isArray(value) ? value : [value];
  if (expect.equals !== undefined && !same(value, expect.equals)) return false;
  if (expect.not_equals !== undefined && same(value, expect.not_equals)) return false;
  if (expect.one_of && !expect.one_of.some((v) => same(value, v))) return false;
  if (expect.not_one_of?.some((v) => same(value, v))) return false;
  if (expect.prefix !== undefined && items.some((item) => !String(item).startsWith(expect.prefix ?? '')))
    return false;
  if (expect.nonempty && items.filter((item) => String(item) !== '').length === 0) return false;
  if (expect.max !== undefined && typeof value === 'number' && value > expect.max) return false;
  if (expect.min !== undefined && typeof value === 'number' && value < expect.min) return false;
  if (expect.contains_all?.some((name) => !items.includes(name))) return false;
  if (expect.contains_none?.some((name) => items.includes(name))) return false;
  return true;
}

function display(value: Typed | undefined): string {
  if (value === undefined) return 'unset';
  return Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
}

interface Context {
  catalogue: readonly CheckDefinition[];
  material: PostureMaterial;
  findings: PostureFinding[];
}

function add(
  ctx: Context,
  check: CheckDefinition,
  subject: string,
  file: string,
  line: number | null,
  detail?: string,
) {
  ctx.findings.push({
    check: check.id,
    severity: check.severity,
    subject,
    location: { file, line },
    message: detail ? `${check.message} (${detail})` : check.message,
    remediation: check.remediation,
    reference: check.reference,
  });
}

/** Whether every `when` condition holds; a condition on a service that is not present does not hold. */
function conditionsHold(ctx: Context, check: CheckDefinition, service: string): boolean {
  for (const condition of check.when ?? []) {
    const target = condition.service ?? service;
    if (target === 'imagetrust') {
      const it = ctx.material.imagetrust;
      if (!it || !meetsExpectation(settingValue(it, condition.option), condition.expect)) return false;
      continue;
    }
    const oslo = ctx.material.services.get(target);
    const libvirt = ctx.material.libvirt.get(target);
    let effective: Effective;
    if (oslo) effective = effectiveOption(oslo.config, condition);
    else if (libvirt) effective = effectiveLibvirt(libvirt, condition);
    else return false;
    if (effective.invalid || !meetsExpectation(effective, condition.expect)) return false;
  }
  return true;
}

/**
 * The transport of a libvirt connection URI: `qemu+tls://host/system` is tls; without `+transport` a URI
 * naming a host is tls (libvirt's default for remote URIs) and one without a host is the local socket.
 */
function uriTransport(uri: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(\/\/([^/]*))?/.exec(uri);
  if (!match) return uri;
  const plus = match[1].indexOf('+');
  if (plus >= 0) return match[1].slice(plus + 1).toLowerCase();
  return match[3] ? 'tls' : 'unix';
}

/** The option's effective value, or, when `from_uri` names a URI option that is set, the URI's transport. */
function effectiveOrUri(config: OsloConfig, check: CheckDefinition): Effective {
  if (check.from_uri) {
    const { section, key } = splitOption(check.from_uri);
    const uri = config.get(section, key);
    // nova builds the migration URI from live_migration_uri when it is set and ignores the scheme option.
    if (uri && uri.value !== '')
      return { value: uriTransport(uri.value), explicit: true, file: uri.file, line: uri.line };
  }
  return effectiveOption(config, check);
}

function runOption(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const material = ctx.material.services.get(service);
    if (!material || !conditionsHold(ctx, check, service)) continue;
    const effective = effectiveOrUri(material.config, check);
    const { section, key } = splitOption(check.option ?? '');
    // oslo.config raises when the service reads a value it cannot convert: the setting is not in force.
    if (effective.invalid) {
      add(
        ctx,
        check,
        `${section}/${key}`,
        effective.file ?? material.mainFile,
        effective.line ?? null,
        `invalid value: ${effective.invalid}; oslo.config refuses it (no inline comments)`,
      );
      continue;
    }
    if (meetsExpectation(effective, check.expect ?? {})) continue;
    const at = effective.explicit
      ? { file: effective.file ?? material.mainFile, line: effective.line ?? null }
      : (material.config.sectionLine(section) ?? { file: material.mainFile, line: null });
    add(
      ctx,
      check,
      `${section}/${key}`,
      at.file,
      at.line,
      `${effective.explicit ? '' : 'default '}value ${display(effective.value)}`,
    );
  }
}

function runLibvirt(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const conf = ctx.material.libvirt.get(service);
    if (!conf || conf.error || !conditionsHold(ctx, check, service)) continue;
    const effective = effectiveLibvirt(conf, check);
    if (effective.invalid || meetsExpectation(effective, check.expect ?? {})) continue;
    add(
      ctx,
      check,
      `${service}/${check.option}`,
      conf.file,
      effective.line ?? null,
      `${effective.explicit ? '' : 'default '}value ${display(effective.value)}`,
    );
  }
}

function runPaste(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const paste = ctx.material.services.get(service)?.paste.get(check.file ?? '');
    // A file paste.deploy refuses is reported once, as an invalid file.
    if (!paste || paste.files[0]?.error) continue;
    const section = check.section ?? '';
    const pipeline = paste.get(section, 'pipeline');
    const filters = pipeline ? pipeline.value.split(/\s+/) : [];
    if (filters.includes(check.filter ?? '')) continue;
    const at = pipeline ?? paste.sectionLine(section);
    add(
      ctx,
      check,
      `${section}/pipeline`,
      at?.file ?? paste.files[0]?.file ?? check.file ?? '',
      at?.line ?? null,
    );
  }
}

/** `nova/` for the directory, `nova/nova.conf` for a file in it. */
function fileSubject(service: string, stat: FileStat): string {
  return stat.isDirectory ? `${service}/` : `${service}/${path.basename(stat.file)}`;
}

function runOwnership(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const stats = ctx.material.services.get(service)?.stats ?? [];
    const dir = stats.find((s) => s.isDirectory);
    for (const stat of stats) {
      if (check.kind === 'owner') {
        const want = `${check.owner ?? 'root'}:${service}`;
        if (`${stat.owner}:${stat.group}` !== want)
          add(
            ctx,
            check,
            fileSubject(service, stat),
            stat.file,
            null,
            `${stat.owner}:${stat.group}, want ${want}`,
          );
        continue;
      }
      const limit = Number.parseInt(check.mode ?? '640', 8);
      const dirMode = check.dir_mode === undefined ? undefined : Number.parseInt(check.dir_mode, 8);
      if (stat.isDirectory) continue;
      // The guide's alternative: a 750 (or stricter) directory protects the files in it.
      const dirPasses = dir !== undefined && dirMode !== undefined && (dir.mode & ~dirMode & 0o7777) === 0;
      if ((stat.mode & ~limit & 0o7777) !== 0 && !dirPasses)
        add(
          ctx,
          check,
          fileSubject(service, stat),
          stat.file,
          null,
          `mode ${(stat.mode & 0o7777).toString(8)}`,
        );
    }
  }
}

function runPolicy(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const material = ctx.material.services.get(service);
    if (!material) continue;
    const policy = effectivePolicy(material.policy, ctx.material.policyDefaults.get(service) ?? {});
    if (policy.problems.some((p) => p.kind === 'load')) continue;
    for (const checked of check.rules ?? []) {
      const { rule, target } = ruleTarget(checked);
      const allowed = PERSONAS.filter(
        (persona) =>
          (check.posture === 'disabled' || !persona.admin) &&
          decidePolicy(policy, rule, persona.creds, target),
      ).map((p) => p.name);
      if (allowed.length === 0) continue;
      const at = policy.where.get(rule) ?? (policy.rules.has(rule) ? undefined : policy.where.get('default'));
      add(
        ctx,
        check,
        rule,
        at?.file ?? material.policy.at(-1)?.file ?? material.mainFile,
        at?.line ?? null,
        `allowed for ${allowed.join(', ')}; posture ${check.posture}`,
      );
    }
  }
}

function runPolicyLint(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const material = ctx.material.services.get(service);
    if (!material) continue;
    for (const problem of effectivePolicy(material.policy, {}).problems) {
      ctx.findings.push({
        check: check.id,
        // Dead names and a written "" (meant, but allow-all): warnings; a YAML null and an unloadable file: the check's severity.
        severity: problem.kind === 'legacy' || problem.kind === 'empty' ? 'warning' : check.severity,
        subject: problem.rule ?? `${service}:policy`,
        location: { file: problem.file, line: problem.line },
        message: problem.message,
        remediation: check.remediation,
        reference: check.reference,
      });
    }
  }
}

function runPolicyDefault(ctx: Context, check: CheckDefinition): void {
  for (const service of servicesOf(check)) {
    const material = ctx.material.services.get(service);
    if (!material) continue;
    const policy = effectivePolicy(material.policy, ctx.material.policyDefaults.get(service) ?? {});
    if (policy.problems.some((p) => p.kind === 'load')) continue;
    // The default rule allows everyone when even a caller with no roles and no project passes it.
    const anonymous = PERSONAS[0].creds;
    if (!decidePolicy(policy, 'default', anonymous, {})) continue;
    const at = policy.where.get('default');
    add(ctx, check, 'default', at?.file ?? material.policy[0]?.file ?? material.mainFile, at?.line ?? null);
  }
}

function runConfigTraps(ctx: Context, check: CheckDefinition): void {
  const { material } = ctx;
  if (check.kind === 'config-invalid') {
    for (const problem of material.loadProblems)
      ctx.findings.push({
        check: check.id,
        severity: check.severity,
        subject: problem.file,
        location: { file: problem.file, line: problem.line },
        message: problem.message,
        remediation: check.remediation,
        reference: check.reference,
      });
    for (const [service, m] of material.services) {
      for (const file of [...m.config.files, ...[...m.paste.values()].flatMap((p) => p.files)]) {
        if (file.error)
          add(ctx, check, `${service}:${file.file}`, file.file, file.error.line, file.error.message);
      }
    }
    for (const [service, conf] of material.libvirt) {
      if (conf.error)
        add(
          ctx,
          check,
          `${service}:${conf.file}`,
          conf.file,
          conf.error.line,
          `${conf.error.message}; libvirt refuses the whole file`,
        );
    }
    return;
  }
  for (const [service, m] of material.services) {
    const seen = new Map<string, { value: string; file: string; line: number }[]>();
    for (const file of m.config.files) {
      for (const a of file.assignments) {
        const id = `${a.section}/${a.key}`;
        seen.set(id, [...(seen.get(id) ?? []), { value: a.value, file: a.file, line: a.line }]);
      }
    }
    for (const [id, list] of seen) {
      if (check.kind === 'config-shadowed') {
        if (list.length < 2 || MULTI_STR.has(id) || new Set(list.map((o) => o.value)).size < 2) continue;
        const winner = list[list.length - 1];
        for (const loser of list.slice(0, -1)) {
          if (loser.value === winner.value) continue;
          add(
            ctx,
            check,
            id,
            loser.file,
            loser.line,
            `"${loser.value}" is overridden by "${winner.value}" at ${winner.file}:${winner.line}`,
          );
        }
      }
    }
    if (check.kind === 'config-deprecated') {
      // The deprecated names the catalogue's option checks declare (`aliases`), used in this service's files.
      for (const known of deprecatedNames(ctx.catalogue, service)) {
        const winner = m.config.get(known.section, known.key, [
          { section: known.aliasSection, key: known.aliasKey },
        ]);
        for (const occurrence of m.config.occurrences(known.aliasSection, known.aliasKey)) {
          const inForce = winner?.file === occurrence.file && winner.line === occurrence.line;
          add(
            ctx,
            check,
            `${known.aliasSection}/${known.aliasKey}`,
            occurrence.file,
            occurrence.line,
            `use [${known.section}] ${known.key}${inForce ? '' : '; the current name overrides this value'}`,
          );
        }
      }
    }
  }
}

/** The (current name, deprecated alias) pairs the catalogue's option checks declare for a service. */
function deprecatedNames(catalogue: readonly CheckDefinition[], service: string) {
  const pairs = new Map<string, { section: string; key: string; aliasSection: string; aliasKey: string }>();
  for (const check of catalogue) {
    if (check.kind !== 'option' || !servicesOf(check).includes(service)) continue;
    const { section, key } = splitOption(check.option ?? '');
    for (const alias of aliasesOf(check.aliases)) {
      const aliasSection = normalizeSection(alias.section ?? section);
      const aliasKey = alias.key ?? key;
      pairs.set(`${aliasSection}/${aliasKey}`, { section, key, aliasSection, aliasKey });
    }
  }
  return [...pairs.values()];
}

function settingValue(material: ImageTrustMaterial, option: string): Effective {
  let value: unknown = material.settings;
  for (const part of option.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  const line = material.lines.get(option);
  return {
    value: value === undefined || value === null ? undefined : (value as Typed),
    explicit: line !== undefined,
    file: material.file,
    line,
  };
}

function runSetting(ctx: Context, check: CheckDefinition): void {
  const material = ctx.material.imagetrust;
  if (!material || !conditionsHold(ctx, check, 'imagetrust')) return;
  const effective = settingValue(material, check.option ?? '');
  if (meetsExpectation(effective, check.expect ?? {})) return;
  add(
    ctx,
    check,
    check.option ?? '',
    material.file,
    effective.line ?? null,
    `${effective.explicit ? '' : 'default '}value ${display(effective.value)}`,
  );
}

function runSecretMode(ctx: Context, check: CheckDefinition): void {
  const material = ctx.material.imagetrust;
  if (!material) return;
  const limit = Number.parseInt(check.mode ?? '600', 8);
  for (const stat of material.stats) {
    if (!check.paths?.includes(stat.role)) continue;
    if ((stat.mode & ~limit & 0o7777) !== 0)
      add(
        ctx,
        check,
        `imagetrust:${stat.role}`,
        stat.file,
        null,
        `mode ${stat.mode.toString(8)}, want ${check.mode} or stricter`,
      );
  }
}

function runImageTrustPolicy(ctx: Context, check: CheckDefinition): void {
  for (const f of ctx.material.imagetrust?.policyFindings ?? []) {
    ctx.findings.push({
      check: check.id,
      severity: f.severity,
      subject: f.rule || `imagetrust:${f.ruleId}`,
      location: { file: f.file, line: f.line },
      message: `${f.ruleId}: ${f.message}`,
      remediation: check.remediation,
      reference: check.reference,
    });
  }
}

/** oslo_utils.strutils.bool_from_string(value), not strict: the true words, and everything else False. */
function novaExtraSpecBool(text: string): boolean {
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(text.trim().toLowerCase());
}

function flavorValue(check: CheckDefinition, flavor: Flavor): Effective {
  const raw = flavor.properties[check.property ?? ''];
  if (raw === undefined) return { value: defaultOf(check.default), explicit: false };
  // nova reads boolean extra specs (hw_rng:allowed in the libvirt driver) without oslo's strict Boolean:
  // a value it does not recognise is False, never an error, so `n` or `disabled` do take the device away.
  if (check.type === 'bool') return { value: novaExtraSpecBool(raw), explicit: true };
  return { ...toTyped(raw, check.type), explicit: true };
}

function runFlavor(ctx: Context, check: CheckDefinition): void {
  for (const flavor of ctx.material.flavors ?? []) {
    const effective = flavorValue(check, flavor);
    if (effective.invalid || meetsExpectation(effective, check.expect ?? {})) continue;
    add(
      ctx,
      check,
      `flavor:${flavor.name}`,
      flavor.source,
      null,
      `${check.property}=${display(effective.value)}`,
    );
  }
}

function runImage(ctx: Context, check: CheckDefinition): void {
  for (const image of ctx.material.images ?? []) {
    if (!image.propertiesKnown || (check.visibility && image.visibility !== check.visibility)) continue;
    const names = check.properties ?? (check.property ? [check.property] : []);
    for (const name of names) {
      const raw = image.properties[name];
      const effective: Effective =
        raw === undefined || raw === null
          ? { value: defaultOf(check.default), explicit: false }
          : { ...toTyped(typeof raw === 'boolean' ? String(raw) : String(raw), check.type), explicit: true };
      if (effective.invalid || meetsExpectation(effective, check.expect ?? {})) continue;
      add(
        ctx,
        check,
        `image:${image.id}`,
        image.source,
        null,
        `${name}=${display(effective.value)}${image.name ? `, ${image.name}` : ''}`,
      );
      break;
    }
  }
}

/** The runner of each kind of check: a kind the catalogue accepts and no runner handles fails to compile. */
const RUNNERS: Record<CheckDefinition['kind'], (ctx: Context, check: CheckDefinition) => void> = {
  option: runOption,
  libvirt: runLibvirt,
  paste: runPaste,
  owner: runOwnership,
  mode: runOwnership,
  policy: runPolicy,
  'policy-lint': runPolicyLint,
  'policy-default': runPolicyDefault,
  'config-invalid': runConfigTraps,
  'config-shadowed': runConfigTraps,
  'config-deprecated': runConfigTraps,
  flavor: runFlavor,
  image: runImage,
  setting: runSetting,
  'secret-mode': runSecretMode,
  'imagetrust-policy': runImageTrustPolicy,
};

/** Runs every check of the catalogue over the material; findings in catalogue order. */
export function evaluatePosture(
  catalogue: readonly CheckDefinition[],
  material: PostureMaterial,
): PostureFinding[] {
  const ctx: Context = { catalogue, material, findings: [] };
  for (const check of catalogue) RUNNERS[check.kind](ctx, check);
  return ctx.findings;
}
