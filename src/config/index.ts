// The one typed configuration: defaults < file (imagetrust.yaml) < environment (IMAGETRUST_*) < flags,
// validated once at start. Only loadConfig touches the disk and process.env.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors/index.ts';

const configSchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9292),
      })
      .strict()
      .prefault({}),
    /** Where the embedded defaults keep their state: SQLite database and blob directory. */
    dataDir: z.string().min(1).default('./imagetrust-data'),
    /** `postgres://...` or `sqlite:PATH`; empty means SQLite at <dataDir>/imagetrust.sqlite. */
    database: z.string().default(''),
    blobs: z
      .object({
        /** Where image data lives: a local directory (`dir`), or an S3-compatible object store (`s3`). */
        backend: z.enum(['filesystem', 's3']).default('filesystem'),
        dir: z.string().default(''),
        s3: z
          .object({
            /** `http(s)://host[:port]` of the S3 API (Swift's s3api, Ceph RGW, AWS). */
            endpoint: z.string().default(''),
            /** Must equal the store's own region (Swift: s3api `location`), or every request is refused. */
            region: z.string().min(1).default('us-east-1'),
            bucket: z.string().default(''),
            /** `endpoint/bucket/key` (true) rather than `bucket.endpoint/key`, which needs DNS for the bucket. */
            pathStyle: z.boolean().default(true),
            /** Begins every object name, so several deployments can share a bucket. */
            prefix: z.string().default(''),
            /** Multipart part size; an upload stages at most `partsInFlight + 1` parts in `stagingDir`, not in memory. */
            partSizeMiB: z.number().int().min(5).max(5120).default(64),
            /** Parts of one upload sent at once; each holds a staging file and two 256 KiB send blocks. */
            partsInFlight: z.number().int().min(1).max(16).default(2),
            /** Local directory parts are staged in on their way to the store; empty: <dataDir>/s3-staging. */
            stagingDir: z.string().default(''),
            /** An AWS shared credentials file; empty: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
            credentialsFile: z.string().default(''),
            profile: z.string().default(''),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    images: z
      .object({
        /** Largest upload accepted, in bytes (Glance's image_size_cap; 1 TiB). */
        sizeCap: z
          .number()
          .int()
          .positive()
          .default(1024 ** 4),
        maxProperties: z.number().int().min(0).default(128),
        maxTags: z.number().int().min(0).default(128),
        maxMembers: z.number().int().min(0).default(128),
        defaultPageSize: z.number().int().positive().default(25),
        maxPageSize: z.number().int().positive().default(1000),
      })
      .strict()
      .prefault({}),
    uploads: z
      .object({
        /**
         * An upload renews its lease every third of this; an upload whose process stopped renewing for
         * this long (or, on this host, whose process is gone) is recovered: its data deleted, the image queued.
         */
        leaseSeconds: z.number().positive().default(60),
        /** Uploads one process takes at once; more are refused with 503 and Retry-After. */
        maxConcurrent: z.number().int().positive().default(100),
        /** An upload body that sends nothing for this long is aborted (408) and the image queued again. */
        bodyIdleSeconds: z.number().positive().default(120),
        /** An upload slower than this over any `rateWindowSeconds` (after the first) is aborted; 0 turns it off. */
        minBytesPerSecond: z.number().min(0).default(4096),
        rateWindowSeconds: z.number().positive().default(60),
        /** A JSON request body must arrive whole within this many seconds. */
        jsonBodySeconds: z.number().positive().default(30),
      })
      .strict()
      .prefault({}),
    tokens: z
      .object({ ttlSeconds: z.number().int().positive().default(3600) })
      .strict()
      .prefault({}),
    identity: z
      .object({
        /**
         * The project (by name, default domain) whose `admin` role administers the whole cloud, as
         * Keystone's admin_project_name; `admin` on any other project administers that project only.
         * The first start creates it and makes the bootstrap admin its admin.
         */
        adminProject: z.string().min(1).max(255).default('admin'),
        /**
         * Keystone without admin_project_name: the `admin` role on ANY project administers the whole cloud.
         * Only for conformance suites written against Keystone's legacy defaults (Tempest's dynamic
         * credentials make admins on fresh projects); never in production.
         */
        adminOnAnyProject: z.boolean().default(false),
        /**
         * The key that hashes unknown user names of failed logins; empty means <dataDir>/login-name-key
         * (created on first start). Several processes share one so the same name hashes alike in the log.
         */
        loginNameKeyFile: z.string().default(''),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({
        /** The keyring of key-encryption keys; empty means <dataDir>/kek.json (created on first start). */
        kekFile: z.string().default(''),
        /** One KEK as base64 of 32 bytes (id `env`); when set it replaces the keyring file. */
        kek: z.string().default(''),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        cert: z.string().default(''),
        key: z.string().default(''),
        /** CA bundle for client certificates; when set, clients must present one it signed. */
        clientCa: z.string().default(''),
      })
      .strict()
      .prefault({}),
    trust: z
      .object({
        /** Key-manager ids of CA certificates that image signing certificates must chain to. */
        trustedCertificateIds: z.array(z.string().min(1)).default([]),
        /** Refuse signed uploads whose certificate is expired or does not chain to a trusted one. */
        requireTrustedCertificate: z.boolean().default(false),
        /** Projects (ids or names) whose every upload must carry a valid signature. */
        signaturesRequiredProjects: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    containers: z
      .object({
        /**
         * Hosts (names or host:port) the container decision API may reach although they resolve to
         * loopback, private or link-local addresses. Tenant policies can reach no other internal host.
         */
        internalHosts: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    /** Interoperable import (`PUT .../stage`, `POST .../import`). */
    import: z
      .object({
        /** The methods carried out and advertised; copy-image needs several stores and is never offered. */
        methods: z
          .array(z.enum(['glance-direct', 'web-download']))
          .default(['glance-direct', 'web-download']),
        webDownload: z
          .object({
            /** Glance's `[import_filtering_opts]`: an allowed list, when not empty, makes its disallowed list ignored. */
            allowedSchemes: z.array(z.string().min(1)).default(['http', 'https']),
            disallowedSchemes: z.array(z.string().min(1)).default([]),
            allowedHosts: z.array(z.string().min(1)).default([]),
            disallowedHosts: z.array(z.string().min(1)).default([]),
            allowedPorts: z.array(z.number().int().min(1).max(65535)).default([80, 443]),
            disallowedPorts: z.array(z.number().int().min(1).max(65535)).default([]),
            /**
             * Hosts (names, addresses, or host:port) web-download may reach although they are loopback,
             * private, link-local or metadata addresses. None by default: a tenant's URL never reaches them.
             */
            internalHosts: z.array(z.string().min(1)).default([]),
            /** Largest image web-download takes, in bytes; 0 means images.sizeCap. */
            maxBytes: z.number().int().min(0).default(0),
            /** A download that sends nothing for this long fails. */
            idleSeconds: z.number().positive().default(60),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    policy: z
      .object({
        /** oslo.policy-language YAML (or JSON) file overriding the in-code defaults; reloaded when it changes. */
        file: z.string().default(''),
        /** Directories of further policy files layered over `file` in name order (oslo's policy.d). */
        dirs: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /** Ed25519 private key (PKCS#8 PEM) that signs tree heads; default `<dataDir>/audit-log-key.pem`, made on first start. */
        signingKeyFile: z.string().default(''),
      })
      .strict()
      .prefault({}),
    release: z
      .object({
        /** Lets a plain Glance PATCH or create make an image public, bypassing release approval (off by default). */
        allowDirectPublish: z.boolean().default(false),
        /** A release needs a passing compliance report (`imagetrust scan --format json`) attached to the image. */
        requireComplianceReport: z.boolean().default(false),
        /** A release needs a passing boot-test report (`imagetrust test-boot --format json`) of the image's data. */
        requireBootTest: z.boolean().default(false),
        /** A release needs a provenance attestation verified with provenance.trustedKeys, about the image's data. */
        requireProvenance: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    provenance: z
      .object({
        /**
         * PEM files of the public keys (Ed25519 or ECDSA P-256) builds sign provenance with; read at start.
         * None means provenance attestations are refused: they are never taken unverified.
         */
        trustedKeys: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    metadefs: z
      .object({
        /**
         * Directory of Glance metadata-definition files (*.json) loaded at first start; each file once.
         * Empty: /etc/glance/metadefs, else /usr/share/glance-common/metadefs (Debian's glance-common),
         * else the subset shipped with imagetrust.
         */
        directory: z.string().default(''),
        /** Load definition files at start at all (imagetrust's own namespace included). */
        load: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    lifecycle: z
      .object({
        /** How often scheduled deprecations and obsolescences are applied, in seconds. */
        scheduleIntervalSeconds: z.number().positive().default(30),
      })
      .strict()
      .prefault({}),
    /** Plain HTTP is refused on non-loopback addresses unless this is true. */
    allowInsecureHttp: z.boolean().default(false),
    /**
     * Base URL advertised in the service catalog and Location headers; empty means the listener's own
     * address, or what a trusted proxy forwards.
     */
    publicUrl: z.string().default(''),
    /**
     * Proxies (IP addresses or CIDR blocks) whose Host, X-Forwarded-Host and X-Forwarded-Proto are
     * believed when publicUrl is empty; nobody else's are.
     */
    trustedProxies: z.array(z.string().min(1)).default([]),
    metrics: z
      .object({
        /**
         * Who may read GET /metrics (IP addresses or CIDR blocks, as the socket sees the peer): loopback by
         * default, for a Prometheus on the same host or a sidecar; [] turns the endpoint off.
         */
        allowFrom: z.array(z.string().min(1)).default(['127.0.0.1/32', '::1/128']),
      })
      .strict()
      .prefault({}),
    adminPassword: z.string().default(''),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type ImageTrustConfig = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables and the config path each sets; listed explicitly so typos are not silently ignored. */
const ENVIRONMENT: Record<string, { path: string[]; type: 'string' | 'number' | 'boolean' | 'list' }> = {
  IMAGETRUST_HOST: { path: ['listen', 'host'], type: 'string' },
  IMAGETRUST_PORT: { path: ['listen', 'port'], type: 'number' },
  IMAGETRUST_DATA_DIR: { path: ['dataDir'], type: 'string' },
  IMAGETRUST_DATABASE: { path: ['database'], type: 'string' },
  IMAGETRUST_BLOB_DIR: { path: ['blobs', 'dir'], type: 'string' },
  IMAGETRUST_BLOBS_BACKEND: { path: ['blobs', 'backend'], type: 'string' },
  IMAGETRUST_S3_ENDPOINT: { path: ['blobs', 's3', 'endpoint'], type: 'string' },
  IMAGETRUST_S3_REGION: { path: ['blobs', 's3', 'region'], type: 'string' },
  IMAGETRUST_S3_BUCKET: { path: ['blobs', 's3', 'bucket'], type: 'string' },
  IMAGETRUST_S3_PATH_STYLE: { path: ['blobs', 's3', 'pathStyle'], type: 'boolean' },
  IMAGETRUST_S3_PREFIX: { path: ['blobs', 's3', 'prefix'], type: 'string' },
  IMAGETRUST_S3_PART_SIZE_MIB: { path: ['blobs', 's3', 'partSizeMiB'], type: 'number' },
  IMAGETRUST_S3_PARTS_IN_FLIGHT: { path: ['blobs', 's3', 'partsInFlight'], type: 'number' },
  IMAGETRUST_S3_STAGING_DIR: { path: ['blobs', 's3', 'stagingDir'], type: 'string' },
  IMAGETRUST_S3_CREDENTIALS_FILE: { path: ['blobs', 's3', 'credentialsFile'], type: 'string' },
  IMAGETRUST_S3_PROFILE: { path: ['blobs', 's3', 'profile'], type: 'string' },
  IMAGETRUST_IMAGE_SIZE_CAP: { path: ['images', 'sizeCap'], type: 'number' },
  IMAGETRUST_TOKEN_TTL: { path: ['tokens', 'ttlSeconds'], type: 'number' },
  IMAGETRUST_ADMIN_PROJECT: { path: ['identity', 'adminProject'], type: 'string' },
  IMAGETRUST_KEK_FILE: { path: ['keys', 'kekFile'], type: 'string' },
  IMAGETRUST_KEK: { path: ['keys', 'kek'], type: 'string' },
  IMAGETRUST_TLS_CERT: { path: ['tls', 'cert'], type: 'string' },
  IMAGETRUST_TLS_KEY: { path: ['tls', 'key'], type: 'string' },
  IMAGETRUST_TLS_CLIENT_CA: { path: ['tls', 'clientCa'], type: 'string' },
  IMAGETRUST_ALLOW_INSECURE_HTTP: { path: ['allowInsecureHttp'], type: 'boolean' },
  IMAGETRUST_PUBLIC_URL: { path: ['publicUrl'], type: 'string' },
  IMAGETRUST_TRUSTED_PROXIES: { path: ['trustedProxies'], type: 'list' },
  IMAGETRUST_METRICS_ALLOW_FROM: { path: ['metrics', 'allowFrom'], type: 'list' },
  IMAGETRUST_ADMIN_PASSWORD: { path: ['adminPassword'], type: 'string' },
  IMAGETRUST_LOG_LEVEL: { path: ['logLevel'], type: 'string' },
  IMAGETRUST_TRUSTED_CERTIFICATE_IDS: { path: ['trust', 'trustedCertificateIds'], type: 'list' },
  IMAGETRUST_REQUIRE_TRUSTED_CERTIFICATE: { path: ['trust', 'requireTrustedCertificate'], type: 'boolean' },
  IMAGETRUST_CONTAINERS_INTERNAL_HOSTS: { path: ['containers', 'internalHosts'], type: 'list' },
  IMAGETRUST_POLICY_FILE: { path: ['policy', 'file'], type: 'string' },
  IMAGETRUST_POLICY_DIRS: { path: ['policy', 'dirs'], type: 'list' },
  IMAGETRUST_AUDIT_SIGNING_KEY_FILE: { path: ['audit', 'signingKeyFile'], type: 'string' },
  IMAGETRUST_LOGIN_NAME_KEY_FILE: { path: ['identity', 'loginNameKeyFile'], type: 'string' },
  IMAGETRUST_RELEASE_REQUIRE_COMPLIANCE_REPORT: {
    path: ['release', 'requireComplianceReport'],
    type: 'boolean',
  },
  IMAGETRUST_RELEASE_REQUIRE_BOOT_TEST: { path: ['release', 'requireBootTest'], type: 'boolean' },
  IMAGETRUST_RELEASE_REQUIRE_PROVENANCE: { path: ['release', 'requireProvenance'], type: 'boolean' },
  IMAGETRUST_PROVENANCE_TRUSTED_KEYS: { path: ['provenance', 'trustedKeys'], type: 'list' },
  IMAGETRUST_METADEFS_DIRECTORY: { path: ['metadefs', 'directory'], type: 'string' },
  IMAGETRUST_METADEFS_LOAD: { path: ['metadefs', 'load'], type: 'boolean' },
  IMAGETRUST_LIFECYCLE_SCHEDULE_INTERVAL: { path: ['lifecycle', 'scheduleIntervalSeconds'], type: 'number' },
  IMAGETRUST_UPLOAD_LEASE: { path: ['uploads', 'leaseSeconds'], type: 'number' },
  IMAGETRUST_UPLOAD_MAX_CONCURRENT: { path: ['uploads', 'maxConcurrent'], type: 'number' },
  IMAGETRUST_UPLOAD_BODY_IDLE: { path: ['uploads', 'bodyIdleSeconds'], type: 'number' },
  IMAGETRUST_UPLOAD_MIN_RATE: { path: ['uploads', 'minBytesPerSecond'], type: 'number' },
};

export interface LoadConfigOptions {
  /** Explicit config file; otherwise IMAGETRUST_CONFIG, else ./imagetrust.yaml when it exists. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** Values from command-line flags; they win over everything else. */
  overrides?: ConfigInput;
  cwd?: string;
}

/** Loads, merges and validates the configuration; throws ConfigError naming every bad key. */
export function loadConfig(options: LoadConfigOptions = {}): ImageTrustConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let fromFile: Record<string, unknown> = {};
  const file =
    options.file ??
    env.IMAGETRUST_CONFIG ??
    (existsSync(path.join(cwd, 'imagetrust.yaml')) ? 'imagetrust.yaml' : undefined);
  if (file) {
    const resolved = path.resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(resolved, 'utf8');
    } catch (error) {
      throw new ConfigError(`Cannot read config file ${resolved}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = YAML.parse(text);
    } catch (error) {
      throw new ConfigError(`Config file ${resolved} is not valid YAML: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError(`Config file ${resolved} must hold a mapping of settings.`);
      }
      fromFile = parsed as Record<string, unknown>;
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENVIRONMENT)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (spec.type === 'number') {
      value = Number(raw);
      if (!Number.isFinite(value)) throw new ConfigError(`${name} must be a number, got '${raw}'.`);
    } else if (spec.type === 'list') {
      value = raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    } else if (spec.type === 'boolean') {
      if (!/^(true|false|1|0|yes|no)$/i.test(raw))
        throw new ConfigError(`${name} must be true or false, got '${raw}'.`);
      value = /^(true|1|yes)$/i.test(raw);
    }
    setPath(fromEnv, spec.path, value);
  }
  const merged = deepMerge(
    deepMerge(fromFile, fromEnv),
    (options.overrides ?? {}) as Record<string, unknown>,
  );
  return validateConfig(merged, file ? `config file ${file}` : 'configuration');
}

/** Validates an already merged settings object (tests use it to build configs without the disk). */
export function validateConfig(input: unknown, source = 'configuration'): ImageTrustConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (where === '(top level)' ? k : `${where}.${k}`));
        return `unknown setting ${keys.join(', ')}`;
      }
      return `${where}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid ${source}: ${problems.join('; ')}`);
  }
  const config = result.data;
  if (Boolean(config.tls.cert) !== Boolean(config.tls.key)) {
    throw new ConfigError('Invalid configuration: tls.cert and tls.key must be given together.');
  }
  if (config.tls.clientCa && !config.tls.cert) {
    throw new ConfigError('Invalid configuration: tls.clientCa needs tls.cert and tls.key.');
  }
  if (config.release.requireProvenance && config.provenance.trustedKeys.length === 0) {
    throw new ConfigError(
      'Invalid configuration: release.requireProvenance needs provenance.trustedKeys (the PEM public keys builds sign provenance with); without them no release could pass.',
    );
  }
  for (const [name, list] of [
    ['trustedProxies', config.trustedProxies],
    ['metrics.allowFrom', config.metrics.allowFrom],
  ] as const) {
    const bad = list.map(trustedProxyProblem).filter(Boolean);
    if (bad.length > 0) throw new ConfigError(`Invalid configuration: ${name}: ${bad.join('; ')}.`);
  }
  const s3Problem = config.blobs.backend === 's3' ? s3SettingsProblem(config.blobs.s3) : null;
  if (s3Problem) throw new ConfigError(`Invalid configuration: ${s3Problem}`);
  const kek = config.keys.kek ? Buffer.from(config.keys.kek, 'base64') : null;
  if (kek && (kek.length !== 32 || kek.toString('base64') !== config.keys.kek)) {
    throw new ConfigError('Invalid configuration: keys.kek (IMAGETRUST_KEK) must be base64 of 32 bytes.');
  }
  return deepFreeze(config);
}

/**
 * Where SQLite keeps its file, where blobs live and where the keys are, derived from dataDir unless set.
 * The log's highest signed head is kept next to its signing key.
 */
export function resolveStoragePaths(config: ImageTrustConfig): {
  dataDir: string;
  databaseUrl: string;
  blobDir: string;
  kekFile: string;
  auditSigningKeyFile: string;
  auditHeadFile: string;
  loginNameKeyFile: string;
  s3StagingDir: string;
} {
  const dataDir = path.resolve(config.dataDir);
  const auditSigningKeyFile = path.resolve(
    config.audit.signingKeyFile || path.join(dataDir, 'audit-log-key.pem'),
  );
  return {
    dataDir,
    databaseUrl: config.database || `sqlite:${path.join(dataDir, 'imagetrust.sqlite')}`,
    blobDir: path.resolve(config.blobs.dir || path.join(dataDir, 'blobs')),
    kekFile: path.resolve(config.keys.kekFile || path.join(dataDir, 'kek.json')),
    auditSigningKeyFile,
    auditHeadFile: path.join(path.dirname(auditSigningKeyFile), 'audit-log-head.json'),
    loginNameKeyFile: path.resolve(config.identity.loginNameKeyFile || path.join(dataDir, 'login-name-key')),
    s3StagingDir: path.resolve(config.blobs.s3.stagingDir || path.join(dataDir, 's3-staging')),
  };
}

/** Null when the S3 settings can work; otherwise what is wrong with them. */
function s3SettingsProblem(s3: ImageTrustConfig['blobs']['s3']): string | null {
  if (!s3.endpoint) return 'blobs.backend is s3 but blobs.s3.endpoint (IMAGETRUST_S3_ENDPOINT) is not set.';
  let url: URL;
  try {
    url = new URL(s3.endpoint);
  } catch {
    return `blobs.s3.endpoint '${s3.endpoint}' is not a URL.`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `blobs.s3.endpoint must be an http:// or https:// URL, not '${s3.endpoint}'.`;
  }
  if (url.username || url.password || url.search || url.hash) {
    return 'blobs.s3.endpoint must not carry credentials, a query or a fragment (credentials come from AWS_* or blobs.s3.credentialsFile).';
  }
  if (!s3.bucket) return 'blobs.backend is s3 but blobs.s3.bucket (IMAGETRUST_S3_BUCKET) is not set.';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/.test(s3.bucket)) {
    return `blobs.s3.bucket '${s3.bucket}' is not a bucket name (3 to 63 letters, digits, '.', '_', '-').`;
  }
  if (!/^[a-z0-9-]{1,64}$/i.test(s3.region)) return `blobs.s3.region '${s3.region}' is not a region name.`;
  if (!/^[A-Za-z0-9._/-]{0,200}$/.test(s3.prefix) || s3.prefix.startsWith('/') || s3.prefix.includes('..')) {
    return `blobs.s3.prefix '${s3.prefix}' must be letters, digits, '.', '_', '-' and '/', not starting with '/' nor containing '..'.`;
  }
  if (s3.profile && !s3.credentialsFile) return 'blobs.s3.profile needs blobs.s3.credentialsFile.';
  return null;
}

/** Null when `entry` is an IP address or CIDR block (trustedProxies, metrics.allowFrom); otherwise why not. */
function trustedProxyProblem(entry: string): string | null {
  const [address, bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return `'${entry}' is not an IP address or CIDR block`;
  if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128))) {
    return `'${entry}' has an invalid prefix length`;
  }
  return null;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const existing = out[key];
    out[key] =
      isPlainObject(existing) && isPlainObject(value)
        ? deepMerge(existing as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (isPlainObject(value)) {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
