// Reads an element tree into a typed Oz template and applies Oz's own validation rules (spec 1.2) in
// Oz's order, as findings rather than a first-error exception so one run shows everything.

import type {
  ChecksumKind,
  Located,
  OzTemplate,
  TemplateCommand,
  TemplateFile,
  TemplateFinding,
  TemplateInstall,
  TemplateLocation,
  TemplateRepository,
} from './types.ts';
import type { XmlElement } from './xml.ts';

export interface ValidateOptions {
  /** imagefactory's `tdl_require_root_pw`: Oz then refuses a template without os/rootpw. */
  requireRootPassword?: boolean;
}

const ARCHES = ['i386', 'x86_64', 'ppc64', 'ppc64le', 'aarch64', 'armv7l', 's390x'];
const CHECKSUMS: ChecksumKind[] = ['md5sum', 'sha1sum', 'sha256sum'];
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', 'localhost.localdomain']);
const BASE64 = /^[a-zA-Z0-9+/]+={0,2}$/;

// Children each element may hold per tdl.rng, with how many times (Infinity = zeroOrMore).
const ALLOWED: Record<string, Record<string, number>> = {
  template: {
    name: 1,
    description: 1,
    os: 1,
    packages: 1,
    files: 1,
    commands: 1,
    precommands: 1,
    repositories: 1,
    disk: 1,
  },
  os: { name: 1, version: 1, arch: 1, install: 1, kernelparam: 1, rootpw: 1, key: 1, icicle: 1 },
  install: { url: 1, iso: 1, md5sum: 1, sha1sum: 1, sha256sum: 1, extras: 1 },
  extras: { directory: Infinity, file: Infinity },
  icicle: { extra_command: 1 },
  packages: { package: Infinity },
  package: { repository: 1, file: 1, arguments: 1 },
  files: { file: Infinity },
  commands: { command: Infinity },
  precommands: { command: Infinity },
  repositories: { repository: Infinity },
  repository: { url: 1, signed: 1, persisted: 1, sslverify: 1 },
  disk: { size: 1 },
};
// Oz's rule 3 reports these with its own wording, so the schema pass leaves their counts alone.
const COUNTED_BY_RULE_3 = new Set(['template/name', 'os/name', 'os/version', 'os/arch', 'os/install']);

/** Host of a URL, or undefined when it has none (or is not a URL). */
export function urlHost(url: string): string | undefined {
  try {
    return new URL(url.trim()).hostname.replace(/^\[|\]$/g, '').toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/** Oz's boolean spelling: true/false/yes/no in any case; undefined when it is none of them. */
export function parseOzBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'true' || value === 'yes') return true;
  if (value === 'false' || value === 'no') return false;
  return undefined;
}

const UNITS: Record<string, number> = { b: 1, g: 2 ** 30, t: 2 ** 40 };
['k', 'm', 'g', 't', 'p', 'e', 'z', 'y'].forEach((prefix, i) => {
  UNITS[`${prefix}b`] = 1000 ** (i + 1);
  UNITS[`${prefix}ib`] = 1024 ** (i + 1);
});

/** Bytes for an Oz disk size (no unit means GiB), or undefined when Oz would call it invalid. */
export function parseDiskSize(text: string): { bytes: number; unit: boolean } | undefined {
  const match = /^(\d+)([a-z]*)$/.exec(text.replace(/\s+/g, '').toLowerCase());
  if (!match) return undefined;
  if (match[2] === '') return { bytes: Number(match[1]) * 2 ** 30, unit: false };
  const factor = UNITS[match[2]];
  return factor === undefined ? undefined : { bytes: Number(match[1]) * factor, unit: true };
}

function children(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((child) => child.name === name) : [];
}

function located(element: XmlElement | undefined): Located<string> | undefined {
  return element ? { value: element.text.trim(), at: element.at } : undefined;
}

/** Parses and validates; the template holds whatever could be read even when findings are errors. */
export function validateOzTemplate(
  root: XmlElement,
  options: ValidateOptions = {},
): { template: OzTemplate; findings: TemplateFinding[] } {
  const findings: TemplateFinding[] = [];
  const report = (rule: string, at: TemplateLocation, message: string, fix: string) =>
    findings.push({ rule, severity: 'error', path: at.path, line: at.line, column: at.column, message, fix });

  // Rule 1: the schema. Unknown elements and repeats of single elements; content rules come later.
  const checkSchema = (element: XmlElement) => {
    const allowed = ALLOWED[element.name];
    if (!allowed) return;
    const seen = new Map<string, number>();
    for (const child of element.children) {
      const limit = allowed[child.name];
      const count = (seen.get(child.name) ?? 0) + 1;
      seen.set(child.name, count);
      if (limit === undefined) {
        report(
          'TDL-SCHEMA',
          child.at,
          `Element ${child.name} is not allowed in ${element.name}`,
          'Remove it.',
        );
        continue;
      }
      if (count > limit && !COUNTED_BY_RULE_3.has(`${element.name}/${child.name}`)) {
        report(
          'TDL-SCHEMA',
          child.at,
          `Element ${child.name} may appear only once in ${element.name}`,
          'Keep one.',
        );
      }
      checkSchema(child);
    }
  };

  // Rule 2: one template, version 1.0.
  if (root.name !== 'template') {
    report(
      'TDL-VERSION',
      root.at,
      `Expected root element template, saw ${root.name}`,
      'Wrap the TDL in <template>.',
    );
    // Oz stops at the schema here; reading further would only restate the same mistake.
    return {
      template: {
        at: root.at,
        os: {},
        packages: [],
        files: [],
        commands: [],
        precommands: [],
        repositories: [],
      },
      findings,
    };
  }
  checkSchema(root);
  const version = root.attributes.version;
  if (version !== undefined && version !== '1.0') {
    const newer = Number.parseFloat(version) > 1.0;
    report(
      'TDL-VERSION',
      root.at,
      newer
        ? `TDL version (${version}) is higher than our known version (1.0)`
        : `Invalid TDL version ${version}`,
      'Use version="1.0" or omit the attribute.',
    );
  }

  // Rule 3: required singletons.
  const os = children(root, 'os')[0];
  const single = (
    parent: XmlElement | undefined,
    name: string,
    xpath: string,
    parentAt: TemplateLocation,
  ) => {
    const found = children(parent, name);
    if (found.length === 0) {
      report('TDL-REQUIRED', parentAt, `Failed to find ${xpath} in TDL`, `Add <${name}>.`);
    } else if (found.length > 1) {
      report(
        'TDL-REQUIRED',
        found[1].at,
        `Expected 0 or 1 ${xpath} in TDL, saw ${found.length}`,
        'Keep one.',
      );
    }
    return found[0];
  };
  const name = single(root, 'name', '/template/name', root.at);
  if (!os) report('TDL-REQUIRED', root.at, 'Failed to find /template/os in TDL', 'Add <os>.');
  const osAt = os?.at ?? root.at;
  const osName = os ? single(os, 'name', '/template/os/name', osAt) : undefined;
  const osVersion = os ? single(os, 'version', '/template/os/version', osAt) : undefined;
  const arch = os ? single(os, 'arch', '/template/os/arch', osAt) : undefined;
  if (arch && !ARCHES.includes(arch.text.trim())) {
    report(
      'TDL-ARCH',
      arch.at,
      `Architecture must be one of ${ARCHES.join(', ')}; saw ${arch.text.trim()}`,
      'Use a supported architecture.',
    );
  }

  // Rule 4: the install element.
  let install: TemplateInstall | undefined;
  const installs = children(os, 'install');
  if (os && installs.length !== 1) {
    report(
      'TDL-INSTALL',
      installs[1]?.at ?? osAt,
      installs.length === 0 ? 'Failed to find OS install' : `Expected 1 OS install, saw ${installs.length}`,
      'Give exactly one <install type="iso|url">.',
    );
  }
  if (installs[0]) {
    const element = installs[0];
    const type = element.attributes.type;
    install = {
      at: element.at,
      type,
      url: located(children(element, 'url')[0]),
      iso: located(children(element, 'iso')[0]),
      checksums: element.children
        .filter((child) => (CHECKSUMS as string[]).includes(child.name))
        .map((sum) => ({ kind: sum.name as ChecksumKind, url: located(sum) as Located<string> })),
      extras: children(element, 'extras').flatMap((extras) =>
        extras.children
          .filter((child) => child.name === 'directory' || child.name === 'file')
          .map((child) => ({
            kind: child.name as 'directory' | 'file',
            source: child.attributes.source,
            destination: child.attributes.destination,
            at: child.at,
          })),
      ),
    };
    if (type === undefined) {
      report('TDL-INSTALL', element.at, 'Failed to find OS install type', 'Add type="iso" or type="url".');
    } else if (type !== 'url' && type !== 'iso') {
      report('TDL-INSTALL', element.at, `Unknown install type ${type}`, 'Use type="iso" or type="url".');
    } else if (!install[type]) {
      report('TDL-INSTALL', element.at, `Failed to find OS install ${type.toUpperCase()}`, `Add <${type}>.`);
    }
    if (install.checksums.length > 1) {
      report(
        'TDL-CHECKSUM-MULTI',
        install.checksums[1].url.at,
        'Only one of <md5sum>, <sha1sum>, and <sha256sum> can be specified',
        'Keep only <sha256sum>.',
      );
    }
  }

  // Rule 5: root password only when the caller demands it.
  const rootpw = children(os, 'rootpw')[0];
  if (options.requireRootPassword && !rootpw) {
    report('TDL-ROOTPW-REQUIRED', osAt, 'Failed to find /template/os/rootpw in TDL', 'Add <rootpw>.');
  }

  // Rules 6 and 7: names, content types and content.
  const named = (element: XmlElement, what: string) => {
    const value = element.attributes.name;
    if (value === undefined) report('TDL-NAME-ATTR', element.at, `${what} without a name`, 'Add name="...".');
    return value;
  };
  const readContent = (element: XmlElement, what: string, isCommand: boolean): TemplateFile => {
    const type = element.attributes.type ?? 'raw';
    const content = element.text;
    if (type !== 'raw' && type !== 'base64' && type !== 'url') {
      report(
        'TDL-CONTENT-TYPE',
        element.at,
        `${what} type for ${element.attributes.name} must be raw, base64 or url, not ${type}`,
        'Fix the type attribute.',
      );
    } else if (type === 'base64' && content.trim() !== '' && !BASE64.test(content.replace(/\s+/g, ''))) {
      report(
        'TDL-BASE64',
        element.at,
        `${what} ${element.attributes.name} contains invalid base64`,
        'Re-encode the content.',
      );
    }
    if (isCommand && content.trim() === '') {
      report(
        'TDL-CMD-EMPTY',
        element.at,
        `Empty commands are not allowed (${element.attributes.name})`,
        'Give the command a body or remove it.',
      );
    }
    return { at: element.at, name: named(element, what), type, content };
  };
  const packages = children(children(root, 'packages')[0], 'package').map((element) => ({
    at: element.at,
    name: named(element, 'Package'),
    repository: children(element, 'repository')[0]?.text.trim(),
    file: children(element, 'file')[0]?.text.trim(),
    arguments: children(element, 'arguments')[0]?.text.trim(),
  }));
  const files = children(children(root, 'files')[0], 'file').map((element) =>
    readContent(element, 'File', false),
  );
  const readCommands = (group: string): TemplateCommand[] => {
    const elements = children(children(root, group)[0], 'command');
    const commands = elements.map((element) => ({
      ...readContent(element, 'Command', true),
      position:
        element.attributes.position === undefined
          ? undefined
          : { value: element.attributes.position, at: element.at },
    }));
    checkPositions(commands, group);
    return commands;
  };

  // Rule 8: all or none carry a position, and positions are exactly 1..N.
  const checkPositions = (commands: TemplateCommand[], group: string) => {
    const withPosition = commands.filter((command) => command.position);
    if (withPosition.length === 0) return;
    if (withPosition.length !== commands.length) {
      const first = commands.find((command) => !command.position) ?? commands[0];
      report(
        'TDL-CMD-POSITION',
        first.at,
        `All ${group} must have a position, or none of them`,
        'Number every command or none.',
      );
      return;
    }
    const positions = commands.map((command) => command.position as Located<string>);
    const bad = positions.find((position) => !/^\d+$/.test(position.value));
    if (bad) {
      report('TDL-CMD-POSITION', bad.at, `Command position ${bad.value} is not a number`, 'Use 1, 2, 3...');
      return;
    }
    const sorted = positions.map((position) => Number(position.value)).sort((a, b) => a - b);
    if (sorted.some((value, index) => value !== index + 1)) {
      report(
        'TDL-CMD-POSITION',
        positions[0].at,
        `Cannot have duplicate or sparse ${group} positions`,
        `Number the ${group} 1..${commands.length}.`,
      );
    }
  };
  const commands = readCommands('commands');
  const precommands = readCommands('precommands');

  // Rule 9: repositories.
  const flag = (element: XmlElement, name: string): Located<boolean> | undefined => {
    const found = children(element, name)[0];
    if (!found) return undefined;
    const value = parseOzBoolean(found.text);
    if (value === undefined) {
      report(
        'TDL-BOOLEAN',
        found.at,
        `Property ${name} must be true, false, yes or no; saw ${found.text.trim()}`,
        'Use yes or no.',
      );
      return undefined;
    }
    return { value, at: found.at };
  };
  const repositories: TemplateRepository[] = children(children(root, 'repositories')[0], 'repository').map(
    (element) => {
      const url = located(children(element, 'url')[0]);
      if (!url) report('TDL-SCHEMA', element.at, 'Repository without url', 'Add <url>.');
      const host = url && urlHost(url.value);
      if (url && host && LOCAL_HOSTS.has(host)) {
        report(
          'TDL-REPO-LOCAL',
          url.at,
          'Repositories cannot be localhost, since they must be reachable from the guest operating system',
          'Use an address the guest can reach.',
        );
      }
      return {
        at: element.at,
        name: named(element, 'Repository'),
        url,
        signed: flag(element, 'signed'),
        persisted: flag(element, 'persisted'),
        sslverify: flag(element, 'sslverify'),
      };
    },
  );

  // Rule 10: disk size.
  let disk: OzTemplate['disk'];
  const sizeElement = children(children(root, 'disk')[0], 'size')[0];
  if (sizeElement) {
    const size = located(sizeElement) as Located<string>;
    const parsed = parseDiskSize(size.value);
    if (!parsed)
      report(
        'TDL-DISK-SIZE',
        size.at,
        `Invalid disk size ${size.value}`,
        'Write digits with an optional unit, e.g. 20GiB.',
      );
    disk = { size, bytes: parsed?.bytes };
  }

  // Rules 11 and 12: extras only for iso installs; url installs not on localhost.
  if (install && install.type !== 'iso' && install.extras.length > 0) {
    report(
      'TDL-EXTRAS',
      install.extras[0].at,
      'Extras are only supported for ISO installs',
      'Remove <extras> or use type="iso".',
    );
  }
  if (install?.type === 'url' && install.url) {
    const host = urlHost(install.url.value);
    if (host && LOCAL_HOSTS.has(host)) {
      report(
        'TDL-INSTALL-LOCAL',
        install.url.at,
        'Can not use localhost for an URL based install',
        'Use an address the guest can reach.',
      );
    }
  }

  const template: OzTemplate = {
    at: root.at,
    version,
    name: located(name),
    description: children(root, 'description')[0]?.text.trim(),
    os: {
      at: os?.at,
      name: located(osName),
      version: located(osVersion),
      arch: located(arch),
      install,
      rootpw: rootpw ? { value: rootpw.text, at: rootpw.at } : undefined,
      key: located(children(os, 'key')[0]),
      kernelparam: located(children(os, 'kernelparam')[0]),
    },
    packages,
    files,
    commands,
    precommands,
    repositories,
    disk,
  };
  return { template, findings };
}
