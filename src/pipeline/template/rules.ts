// The rule catalogue: Oz's own validation (spec 1.2, in Oz's order) then the hardening rules (spec 1.3).
// Ids are API: reports, SARIF consumers and suppressions refer to them, so never rename or reuse one.
import type { TemplateRule } from './types.ts';

export const TEMPLATE_RULES: readonly TemplateRule[] = [
  {
    id: 'TDL-XML',
    severity: 'error',
    summary: 'The file is unreadable, not well-formed XML, or carries a DOCTYPE.',
  },
  {
    id: 'TDL-SCHEMA',
    severity: 'error',
    summary: "An element or attribute Oz's Relax NG schema does not allow.",
  },
  { id: 'TDL-VERSION', severity: 'error', summary: 'The root is not <template> or its version is not 1.0.' },
  {
    id: 'TDL-REQUIRED',
    severity: 'error',
    summary: 'name, os/name, os/version or os/arch missing or repeated.',
  },
  { id: 'TDL-ARCH', severity: 'error', summary: 'os/arch is not an architecture Oz knows.' },
  {
    id: 'TDL-INSTALL',
    severity: 'error',
    summary: 'os/install missing, repeated, of unknown type or without url/iso.',
  },
  { id: 'TDL-CHECKSUM-MULTI', severity: 'error', summary: 'More than one of md5sum, sha1sum and sha256sum.' },
  {
    id: 'TDL-ROOTPW-REQUIRED',
    severity: 'error',
    summary: 'The caller requires os/rootpw and it is missing.',
  },
  { id: 'TDL-NAME-ATTR', severity: 'error', summary: 'A package, file, command or repository has no name.' },
  {
    id: 'TDL-CONTENT-TYPE',
    severity: 'error',
    summary: 'A file or command type other than raw, base64 or url.',
  },
  { id: 'TDL-BASE64', severity: 'error', summary: 'base64 content that is not valid base64.' },
  { id: 'TDL-CMD-EMPTY', severity: 'error', summary: 'A command with no content.' },
  {
    id: 'TDL-CMD-POSITION',
    severity: 'error',
    summary: 'Command positions mixed, sparse, duplicated or not numbers.',
  },
  {
    id: 'TDL-REPO-LOCAL',
    severity: 'error',
    summary: 'A repository on localhost, which the guest cannot reach.',
  },
  { id: 'TDL-BOOLEAN', severity: 'error', summary: 'A repository flag that is not true/false/yes/no.' },
  { id: 'TDL-DISK-SIZE', severity: 'error', summary: 'A disk size Oz cannot parse.' },
  { id: 'TDL-EXTRAS', severity: 'error', summary: 'Install extras on an install that is not type iso.' },
  { id: 'TDL-INSTALL-LOCAL', severity: 'error', summary: 'A url install pointing at localhost.' },
  { id: 'TDL-MEDIA-HTTP', severity: 'error', summary: 'Installer media fetched over plain http or ftp.' },
  {
    id: 'TDL-MEDIA-NOSUM',
    severity: 'error',
    summary: 'Installer media that Oz will not verify against a checksum.',
  },
  { id: 'TDL-SUM-WEAK', severity: 'warning', summary: 'An md5 or sha1 checksum list.' },
  { id: 'TDL-SUM-HTTP', severity: 'error', summary: 'A checksum list fetched over plain http or ftp.' },
  {
    id: 'TDL-REPO-UNSIGNED',
    severity: 'error',
    summary: 'A repository without signed=yes (Oz writes gpgcheck=0).',
  },
  { id: 'TDL-REPO-NOSSLVERIFY', severity: 'warning', summary: 'A repository without sslverify=yes.' },
  { id: 'TDL-REPO-HTTP', severity: 'warning', summary: 'A repository on plain http or ftp.' },
  {
    id: 'TDL-REPO-PERSISTED',
    severity: 'info',
    summary: 'A repository left configured in the shipped image.',
  },
  {
    id: 'TDL-ROOTPW-MISSING',
    severity: 'error',
    summary: 'No root password: Oz falls back to the public ozrootpw.',
  },
  {
    id: 'TDL-ROOTPW-PLACEHOLDER',
    severity: 'error',
    summary: 'A placeholder, well-known or short root password.',
  },
  {
    id: 'TDL-ROOTPW-PLAINTEXT',
    severity: 'info',
    summary: 'The root password is stored in clear in the template.',
  },
  {
    id: 'TDL-FILE-URL-HTTP',
    severity: 'error',
    summary: 'File content fetched over http without integrity.',
  },
  {
    id: 'TDL-CMD-URL-HTTP',
    severity: 'error',
    summary: 'A command script fetched over http and run as root.',
  },
  {
    id: 'TDL-KERNELPARAM',
    severity: 'warning',
    summary: 'Installer kernel parameters that switch off SELinux, AppArmor or audit.',
  },
  { id: 'TDL-KEY-PLAINTEXT', severity: 'warning', summary: 'A product key stored in the template.' },
  { id: 'TDL-DISK-NOUNIT', severity: 'info', summary: 'A disk size without unit, which Oz reads as GiB.' },
];
