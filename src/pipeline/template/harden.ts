// Hardening rules (spec 1.3): what Oz accepts but a trusted image pipeline must not, mostly Oz's
// insecure defaults (unsigned repositories, no TLS verification, the public default root password).

import type { FindingSeverity, OzTemplate, TemplateFinding, TemplateLocation } from './types.ts';
import { parseDiskSize } from './validate.ts';

export interface HardeningOptions {
  /** Root passwords shorter than this are treated as placeholders; 8 unless set. */
  minRootPasswordLength?: number;
  /**
   * Lint for `imagetrust build` rather than Oz: a url install is a Debian-family archive whose signed
   * InRelease is verified with the archive keyring (so plain http carries no unverified byte), a
   * template without <rootpw> gets a locked root, and a repository explicitly marked unsigned is
   * built from (a warning) while one that only inherits Oz's unsigned default is refused.
   */
  builder?: boolean;
}

const WELL_KNOWN_PASSWORDS = new Set([
  'ozrootpw',
  'password',
  'changeme',
  'root',
  'redhat',
  '123456',
  'toor',
  'admin',
  'secret',
  'passw0rd',
]);
// Phrases and template syntax that mean "fill this in later".
const PLACEHOLDER_PATTERNS = [
  /\$\{.*\}/,
  /\{\{.*\}\}/,
  /<.*>/,
  /%\w+%/,
  /change/i,
  /\btodo\b/i,
  /fixme/i,
  /your/i,
  /^x+$/i,
  /password/i,
];
const WEAKENING_KERNEL_PARAMS = /(?:^|\s)(selinux=0|enforcing=0|apparmor=0|audit=0)(?=\s|$)/g;

function plainTransport(url: string): boolean {
  return /^\s*(http|ftp):/i.test(url);
}

/** Why a root password is a placeholder or well known, or undefined when it is neither. */
export function rootPasswordProblem(password: string, minLength: number): string | undefined {
  const value = password.trim();
  if (WELL_KNOWN_PASSWORDS.has(value.toLowerCase())) return 'is a well-known default';
  if (PLACEHOLDER_PATTERNS.some((pattern) => pattern.test(value))) return 'looks like a placeholder';
  if ([...value].length < minLength) return `is shorter than ${minLength} characters`;
  return undefined;
}

/** Every hardening finding for a parsed template; pure. */
export function lintTemplateHardening(
  template: OzTemplate,
  options: HardeningOptions = {},
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  const report = (
    rule: string,
    severity: FindingSeverity,
    at: TemplateLocation,
    message: string,
    fix: string,
  ) => findings.push({ rule, severity, path: at.path, line: at.line, column: at.column, message, fix });
  const { install, rootpw, key, kernelparam } = template.os;

  if (install) {
    const media = install.type === 'url' ? install.url : install.type === 'iso' ? install.iso : undefined;
    const archive = options.builder && install.type === 'url';
    if (media && plainTransport(media.value)) {
      report(
        'TDL-MEDIA-HTTP',
        archive ? 'info' : 'error',
        media.at,
        archive
          ? `The archive ${media.value.trim()} is read over plain http; no byte is trusted before its signed InRelease file is verified`
          : `Installer media ${media.value.trim()} is fetched without transport integrity`,
        'Use an https mirror (and a sha256sum list).',
      );
    }
    if (install.type === 'iso' && install.checksums.length === 0) {
      report(
        'TDL-MEDIA-NOSUM',
        'error',
        media?.at ?? install.at,
        'ISO install without <sha256sum>: Oz skips verification of the ISO',
        'Add <sha256sum> with the https URL of the signed SHA256SUMS list.',
      );
    }
    if (install.type === 'url' && media) {
      report(
        'TDL-MEDIA-NOSUM',
        archive ? 'info' : 'warning',
        media.at,
        archive
          ? 'The archive is trusted through its InRelease file, verified with the archive keyring before any package is used'
          : 'URL installs are never checked against a checksum',
        'Prefer an ISO install with <sha256sum>, or an https tree with signed metadata.',
      );
    }
    for (const sum of install.checksums) {
      if (sum.kind !== 'sha256sum') {
        report('TDL-SUM-WEAK', 'warning', sum.url.at, `<${sum.kind}> uses a weak hash`, 'Use <sha256sum>.');
      }
      if (plainTransport(sum.url.value)) {
        report(
          'TDL-SUM-HTTP',
          'error',
          sum.url.at,
          `Checksum list ${sum.url.value} is fetched over plain ${sum.url.value.split(':')[0]}`,
          'Fetch the checksum list over https.',
        );
      }
    }
  }

  for (const repository of template.repositories) {
    const label = repository.name ?? '(unnamed)';
    const url = repository.url?.value ?? '';
    if (!repository.signed?.value) {
      // The builder takes an unsigned repository only when the template says so in so many words.
      const explicit = options.builder && repository.signed?.value === false;
      report(
        'TDL-REPO-UNSIGNED',
        explicit ? 'warning' : 'error',
        repository.at,
        `Repository ${label} is not signed: Oz writes gpgcheck=0${plainTransport(url) ? ' and it is on plain http' : ''}`,
        'Add <signed>yes</signed> and install the repository key.',
      );
    }
    if (!repository.sslverify?.value) {
      const https = /^\s*https:/i.test(url);
      report(
        'TDL-REPO-NOSSLVERIFY',
        https ? 'error' : 'warning',
        repository.sslverify?.at ?? repository.at,
        `Repository ${label} does not verify TLS (Oz defaults sslverify to no)`,
        'Add <sslverify>yes</sslverify>.',
      );
    }
    if (repository.url && plainTransport(url)) {
      report(
        'TDL-REPO-HTTP',
        'warning',
        repository.url.at,
        `Repository ${label} is on plain ${url.trim().split(':')[0]}`,
        'Use an https mirror.',
      );
    }
    if (repository.persisted?.value !== false) {
      report(
        'TDL-REPO-PERSISTED',
        'info',
        repository.persisted?.at ?? repository.at,
        `Repository ${label} stays configured in the image (Oz defaults persisted to yes)`,
        'Add <persisted>no</persisted> for build-only repositories.',
      );
    }
  }

  if (!rootpw) {
    report(
      'TDL-ROOTPW-MISSING',
      options.builder ? 'info' : 'error',
      template.os.at ?? template.at,
      options.builder
        ? 'No <rootpw>: the image is built with root locked (log in with the cloud-init user and a key)'
        : 'No <rootpw>: Oz uses its public default ozrootpw',
      'Set a generated root password and lock root in the commands.',
    );
  } else {
    const problem = rootPasswordProblem(rootpw.value, options.minRootPasswordLength ?? 8);
    if (problem) {
      report(
        'TDL-ROOTPW-PLACEHOLDER',
        'error',
        rootpw.at,
        `Root password ${problem}`,
        'Generate a strong password at build time and lock root afterwards.',
      );
    }
    report(
      'TDL-ROOTPW-PLAINTEXT',
      'info',
      rootpw.at,
      'Root password is stored in clear in the template',
      'Lock root (passwd -l root) in the hardening commands.',
    );
  }

  for (const file of template.files) {
    if (file.type === 'url' && plainTransport(file.content)) {
      report(
        'TDL-FILE-URL-HTTP',
        'error',
        file.at,
        `File ${file.name} is fetched over plain http without integrity`,
        'Inline the content or fetch it over https.',
      );
    }
  }
  for (const command of [...template.precommands, ...template.commands]) {
    if (command.type === 'url' && plainTransport(command.content)) {
      report(
        'TDL-CMD-URL-HTTP',
        'error',
        command.at,
        `Command ${command.name} is fetched over plain http and run as root`,
        'Inline the script or fetch it over https.',
      );
    }
  }

  if (kernelparam) {
    const weakening = [...kernelparam.value.matchAll(WEAKENING_KERNEL_PARAMS)].map((match) => match[1]);
    if (weakening.length > 0) {
      report(
        'TDL-KERNELPARAM',
        'warning',
        kernelparam.at,
        `Kernel parameters ${weakening.join(' ')} weaken the installed system`,
        'Remove them.',
      );
    }
  }
  if (key) {
    report(
      'TDL-KEY-PLAINTEXT',
      'warning',
      key.at,
      'A product key is stored in the template',
      'Inject the key at build time instead of committing it.',
    );
  }
  if (template.disk && parseDiskSize(template.disk.size.value)?.unit === false) {
    report(
      'TDL-DISK-NOUNIT',
      'info',
      template.disk.size.at,
      `Disk size ${template.disk.size.value} has no unit and is read as GiB`,
      'Write the unit, e.g. 20GiB.',
    );
  }
  return findings;
}
