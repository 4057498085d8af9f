// Reviewer checks for registries.d: lookaside locations that skopeo cannot use, or that travel in clear.
import type { LintFinding } from '../policy/index.ts';
import type { RegistriesConfig, RegistryNamespace } from './config.ts';

const KEYS: [keyof RegistryNamespace, string, boolean][] = [
  ['lookaside', 'lookaside', false],
  ['sigstore', 'sigstore', false],
  ['lookasideStaging', 'lookaside-staging', true],
  ['sigstoreStaging', 'sigstore-staging', true],
];

/** Warnings for every section of a merged registries.d configuration. */
export function lintRegistries(config: RegistriesConfig): LintFinding[] {
  const findings: LintFinding[] = [];
  const sections: [string, RegistryNamespace][] = [
    ...(config.defaultDocker
      ? [['default-docker', config.defaultDocker] as [string, RegistryNamespace]]
      : []),
    ...[...config.docker].map(
      ([scope, section]) => [`docker."${scope}"`, section] as [string, RegistryNamespace],
    ),
  ];
  for (const [name, section] of sections) {
    for (const [field, key, forWriting] of KEYS) {
      const url = section[field];
      if (typeof url !== 'string') continue;
      const warn = (rule: string, message: string) => {
        const finding: LintFinding = { rule, severity: 'warning', message, file: section.source.file };
        if (section.source.position) finding.position = section.source.position;
        findings.push(finding);
      };
      const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
      if (key.startsWith('sigstore')) {
        warn(
          'lookaside-deprecated-key',
          `${name}: "${key}" is deprecated; use "${key.replace('sigstore', 'lookaside')}"`,
        );
      }
      if (forWriting && scheme !== 'file') {
        warn(
          'lookaside-unsupported-scheme',
          `${name}: ${key} ${url} cannot be written; only file: is supported`,
        );
      } else if (!forWriting && scheme !== 'file' && scheme !== 'http' && scheme !== 'https') {
        warn(
          'lookaside-unsupported-scheme',
          `${name}: Unsupported scheme when reading signature from ${url}`,
        );
      } else if (!forWriting && scheme === 'http') {
        warn(
          'lookaside-plain-http',
          `${name}: ${key} ${url} is plain http; signatures stay verifiable but can be withheld or observed in transit`,
        );
      }
    }
  }
  return findings;
}
