// The typed shape of an Oz TDL template and of the findings the linter reports about it.

/** Where an element starts in the template: an XPath-like path and a one-based line and column. */
export interface TemplateLocation {
  path: string;
  line: number;
  column: number;
}

/** A value read from the template together with where it was written. */
export interface Located<T> {
  value: T;
  at: TemplateLocation;
}

export type ChecksumKind = 'md5sum' | 'sha1sum' | 'sha256sum';
export type ContentType = 'raw' | 'base64' | 'url';

/** `os/install`: how the installer media is found; checksums are URLs of checksum files, as in Oz. */
export interface TemplateInstall {
  at: TemplateLocation;
  type?: string;
  url?: Located<string>;
  iso?: Located<string>;
  checksums: { kind: ChecksumKind; url: Located<string> }[];
  extras: { kind: 'directory' | 'file'; source?: string; destination?: string; at: TemplateLocation }[];
}

export interface TemplateRepository {
  at: TemplateLocation;
  name?: string;
  url?: Located<string>;
  /** Absent means Oz's default: `signed` no, `sslverify` no, `persisted` yes. */
  signed?: Located<boolean>;
  persisted?: Located<boolean>;
  sslverify?: Located<boolean>;
}

export interface TemplatePackage {
  at: TemplateLocation;
  name?: string;
  repository?: string;
  file?: string;
  arguments?: string;
}

export interface TemplateFile {
  at: TemplateLocation;
  name?: string;
  type: ContentType | string;
  content: string;
}

export interface TemplateCommand extends TemplateFile {
  position?: Located<string>;
}

/** A parsed Oz TDL template; fields Oz requires may be missing here, and the findings say so. */
export interface OzTemplate {
  at: TemplateLocation;
  version?: string;
  name?: Located<string>;
  description?: string;
  os: {
    at?: TemplateLocation;
    name?: Located<string>;
    version?: Located<string>;
    arch?: Located<string>;
    install?: TemplateInstall;
    rootpw?: Located<string>;
    key?: Located<string>;
    kernelparam?: Located<string>;
  };
  packages: TemplatePackage[];
  files: TemplateFile[];
  commands: TemplateCommand[];
  precommands: TemplateCommand[];
  repositories: TemplateRepository[];
  disk?: { size: Located<string>; bytes?: number };
}

export type FindingSeverity = 'error' | 'warning' | 'info';

/** One lint finding: a stable rule id, where it is, what is wrong and how to fix it. */
export interface TemplateFinding {
  rule: string;
  severity: FindingSeverity;
  path: string;
  line: number;
  column: number;
  message: string;
  fix: string;
}

/** What a lint rule is, for reports (SARIF `rules`) and documentation. */
export interface TemplateRule {
  id: string;
  severity: FindingSeverity;
  summary: string;
}
