// The `imagetrust` command tree: every command, its options and output formats, each lazily importing
// the module that runs it. main.ts parses with it; docs, completion and the man page walk it.
import { Argument, Command, Option } from 'commander';
import { registerAuditCommands } from './audit.ts';
import { addAuthOptions } from './connect.ts';
import {
  columnOption,
  DATA_FORMATS,
  formatOption,
  LINT_COLUMNS,
  LINT_FORMATS,
  REPORT_FORMATS,
} from './output.ts';
import { registerPolicyCommands } from './policy.ts';
import { registerPostureCommands } from './posture.ts';

/** Data printed as openstack prints it; table by default. */
const DATA = DATA_FORMATS;
/** The report kinds (as src/catalog REPORT_KINDS); listed here so the CLI starts without loading the catalog. */
const REPORT_KIND_CHOICES = ['compliance', 'boot-test', 'provenance'];
const REPORT = REPORT_FORMATS;
const LINT = LINT_FORMATS;
const USER_COLUMNS = ['id', 'name', 'enabled', 'default_project_id', 'email'];
const PROJECT_COLUMNS = ['id', 'name', 'enabled', 'description'];
const ROLE_COLUMNS = ['id', 'name', 'role', 'user_id', 'project_id'];
const LIFECYCLE_COLUMNS = [
  'id',
  'name',
  'status',
  'image_class',
  'lifecycle_state',
  'deprecation_at',
  'obsolescence_at',
  'replacement',
];
const RELEASE_COLUMNS = [
  'id',
  'image_name',
  'image_id',
  'target',
  'status',
  'requested_by',
  'requested_at',
  'reason',
  'decided_by',
  'decided_at',
  'decision_reason',
];

/** Options every command that opens the local store accepts. */
function addStoreOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default: ./imagetrust.yaml if present, or $IMAGETRUST_CONFIG)')
    .option(
      '--data-dir <dir>',
      'where SQLite and blobs live (default ./imagetrust-data; $IMAGETRUST_DATA_DIR)',
    )
    .option(
      '--database <url>',
      'metadata database: sqlite:PATH or postgres://USER@HOST:PORT/DB ($IMAGETRUST_DATABASE)',
    );
}

/** Builds the whole tree; nothing runs until it is parsed. */
export function createProgram(): Command {
  const program = new Command('imagetrust')
    .description('Keeps the chain of trust of OS and container images, from source media to use.')
    .option('-v, --version', 'print the version and the git commit of this build')
    .configureHelp({ sortSubcommands: true });

  addStoreOptions(
    program
      .command('serve')
      .description('Run the Glance v2-compatible image service with its identity API on one port.')
      .option('--host <address>', 'address to listen on (default 127.0.0.1; $IMAGETRUST_HOST)')
      .addOption(
        new Option('-p, --port <port>', 'port to listen on (default 9292; $IMAGETRUST_PORT)').argParser(
          Number,
        ),
      )
      .option('--tls-cert <file>', 'PEM certificate chain; with --tls-key, serve HTTPS')
      .option('--tls-key <file>', 'PEM private key for --tls-cert')
      .option('--tls-client-ca <file>', 'require client certificates signed by this CA bundle')
      .option('--allow-insecure-http', 'allow plain HTTP on a non-loopback address (only behind a TLS proxy)')
      .option(
        '--public-url <url>',
        'base URL to advertise in the service catalog (default: from each request)',
      )
      .addOption(
        new Option('--image-size-cap <bytes>', 'largest image accepted, in bytes (default 1 TiB)').argParser(
          Number,
        ),
      )
      .addOption(
        new Option('--log-level <level>', 'log level').choices([
          'fatal',
          'error',
          'warn',
          'info',
          'debug',
          'trace',
          'silent',
        ]),
      ),
  ).action(async (options) => (await import('./serve.ts')).runServe(options));

  const user = program
    .command('user')
    .description('Manage users in the local identity store (like keystone-manage).');
  addStoreOptions(user.command('create <name>').description('Create a user.'))
    .option('--password <password>', 'the password (prefer --password-file or $IMAGETRUST_USER_PASSWORD)')
    .option('--password-file <file>', 'read the password from the first line of this file')
    .option('--project <project>', 'default project (name or id)')
    .option('--email <email>', 'email address')
    .addOption(formatOption(DATA))
    .addOption(columnOption(USER_COLUMNS))
    .action(async (name, options) => (await import('./identity.ts')).createUser(name, options));
  addStoreOptions(user.command('list').description('List users.'))
    .addOption(formatOption(DATA))
    .addOption(columnOption(USER_COLUMNS))
    .action(async (options) => (await import('./identity.ts')).listUsers(options));
  addStoreOptions(user.command('set-password <user>').description("Change a user's password."))
    .option('--password <password>', 'the new password')
    .option('--password-file <file>', 'read the new password from this file')
    .action(async (name, options) => (await import('./identity.ts')).setPassword(name, options));

  const project = program.command('project').description('Manage projects in the local identity store.');
  addStoreOptions(project.command('create <name>').description('Create a project.'))
    .option('--description <text>', 'description', '')
    .addOption(formatOption(DATA))
    .addOption(columnOption(PROJECT_COLUMNS))
    .action(async (name, options) => (await import('./identity.ts')).createProject(name, options));
  addStoreOptions(project.command('list').description('List projects.'))
    .addOption(formatOption(DATA))
    .addOption(columnOption(PROJECT_COLUMNS))
    .action(async (options) => (await import('./identity.ts')).listProjects(options));

  const role = program
    .command('role')
    .description('Manage roles and role assignments in the local identity store.');
  addStoreOptions(
    role.command('add <role>').description('Grant ROLE (admin, member, reader, ...) to a user on a project.'),
  )
    .requiredOption('--user <user>', 'user name or id')
    .requiredOption('--project <project>', 'project name or id')
    .action(async (roleName, options) => (await import('./identity.ts')).addRole(roleName, options));
  addStoreOptions(
    role.command('list').description('List roles, or with --user and --project the assignments.'),
  )
    .option('--user <user>', 'user name or id')
    .option('--project <project>', 'project name or id')
    .addOption(formatOption(DATA))
    .addOption(columnOption(ROLE_COLUMNS))
    .action(async (options) => (await import('./identity.ts')).listRoles(options));

  addAuthOptions(
    program
      .command('sign <image>')
      .description(
        'Sign an image file as Glance verifies it (RSA-PSS, DSA or ECC); print the base64 signature, or with --cert/--cert-id and --upload create and upload the signed image.',
      )
      .requiredOption(
        '--key <file>',
        'PEM private key (RSA, DSA, or EC on secp384r1/secp521r1/sect409k1/sect409r1/sect571k1/sect571r1)',
      )
      .option('--passphrase-file <file>', 'passphrase of an encrypted key')
      .option('--hash-method <method>', 'SHA-224, SHA-256, SHA-384 or SHA-512', 'SHA-256')
      .option('--key-type <type>', 'RSA-PSS, DSA or ECC_<CURVE> (default: from the key)')
      .option('--cert <file>', 'PEM certificate of the key: store it in the key manager')
      .option('--cert-id <uuid>', 'key-manager id of a certificate stored before')
      .option('--upload', 'create the image with the four img_signature* properties and upload the file')
      .option('--name <name>', 'image name (with --upload)')
      .option('--disk-format <format>', 'disk format (default: detected from the file, else raw)')
      .option('--container-format <format>', 'container format', 'bare')
      .option('--visibility <visibility>', 'private, shared, community or public')
      .option(
        '--property <key=value>',
        'extra property (repeatable)',
        (value: string, all: string[] = []) => [...all, value],
      )
      .addOption(formatOption(REPORT)),
  ).action(async (image, options) => (await import('./sign.ts')).runSign(image, options));

  addAuthOptions(
    program
      .command('fetch <image>')
      .description(
        'Boot gate: download an image (by id, or by name as the openstack client finds it; a name two images share is refused), verify its signature (and certificate chain) while it streams, cache it, and print the path; a cached copy is verified again on every request.',
      )
      .requiredOption('--cache-dir <dir>', 'where verified images are kept')
      .option(
        '--trusted-cert-id <id>',
        'key-manager id of a trusted CA certificate; the signing certificate must chain to one (repeatable)',
        (value: string, all: string[] = []) => [...all, value],
      )
      .addOption(formatOption(REPORT))
      .addOption(columnOption(['path', 'image', 'fromCache', 'verified'])),
  ).action(async (imageId, options) => (await import('./fetch.ts')).runFetch(imageId, options));

  const image = program
    .command('image')
    .description(
      'Govern images on a running service: lifecycle, reports (compliance, boot test, provenance) and releases.',
    );
  const lifecycle = image
    .command('lifecycle')
    .description('Show, change or schedule an image lifecycle: available → deprecated → obsolete.');
  const governanceImport = () => import('./image-governance.ts');
  addAuthOptions(
    lifecycle
      .command('show <image-id>')
      .description('Print class, lifecycle state, schedule and replacement.'),
  )
    .addOption(formatOption(DATA))
    .addOption(columnOption(LIFECYCLE_COLUMNS))
    .action(async (id, options) => (await governanceImport()).showLifecycle(id, options));
  addAuthOptions(
    lifecycle
      .command('set <image-id>')
      .description(
        'Change the state now, or schedule it. Times are RFC 3339 and must lie in the future; deprecation comes before obsolescence. Leaving obsolete needs an admin.',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  imagetrust image lifecycle set IMAGE --state deprecated --replacement NEW_IMAGE\n  imagetrust image lifecycle set IMAGE --deprecate-at 2027-01-31T00:00:00Z --obsolete-at 2027-06-30T00:00:00Z\n  imagetrust image lifecycle set IMAGE --clear-deprecation   # back to available',
      ),
  )
    .addOption(
      new Option('--state <state>', 'change the state now').choices(['available', 'deprecated', 'obsolete']),
    )
    .option('--deprecate-at <time>', 'deprecate at this time')
    .option('--obsolete-at <time>', 'make obsolete at this time')
    .option('--replacement <image-id>', 'the image users should move to')
    .option('--clear-deprecation', 'remove the deprecation time (a deprecated image becomes available)')
    .option('--clear-obsolescence', 'remove the obsolescence time')
    .option('--clear-replacement', 'remove the replacement')
    .addOption(formatOption(DATA))
    .addOption(columnOption(LIFECYCLE_COLUMNS))
    .action(async (id, options) => (await governanceImport()).setLifecycle(id, options));
  const report = image
    .command('report')
    .description(
      'Reports releases may require, one current report of each kind per image: compliance (scan), boot-test (test-boot) and provenance (a signed DSSE envelope).',
    );
  const kindOption = () =>
    new Option('--kind <kind>', 'which kind of report').choices(REPORT_KIND_CHOICES).default('compliance');
  addAuthOptions(
    report
      .command('attach <image-id> <report.json>')
      .description(
        'Attach a report to an image: the output of `imagetrust scan IMAGE --format json` (compliance, the default), of `imagetrust test-boot IMAGE --format json` (boot-test; it must name the image data by image_sha512), or the DSSE envelope of the build provenance (provenance; verified with the server trusted build keys).',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  imagetrust image report attach IMAGE scan.json\n  imagetrust image report attach IMAGE boot.json --kind boot-test\n  imagetrust image report attach IMAGE provenance.dsse.json --kind provenance',
      ),
  )
    .addOption(kindOption())
    .addOption(formatOption(REPORT))
    .action(async (id, file, options) => (await governanceImport()).attachReport(id, file, options));
  addAuthOptions(
    report
      .command('show <image-id>')
      .description(
        "Print an image's current report of a kind: a summary as text or table, the whole report (document included) as JSON or YAML.",
      ),
  )
    .addOption(kindOption())
    .addOption(formatOption(REPORT))
    .action(async (id, options) => (await governanceImport()).showReport(id, options));
  const release = image
    .command('release')
    .description(
      'Release an image as a public stock image or a catalog image: one person asks, a different person with the approver role decides.',
    );
  addAuthOptions(
    release
      .command('request <image-id>')
      .description(
        'Ask for a release; the image must be active, not obsolete, and meet the signing and report rules.',
      ),
  )
    .addOption(
      new Option('--target <target>', 'what the image becomes')
        .choices(['stock', 'catalog'])
        .makeOptionMandatory(),
    )
    .option('--reason <text>', 'why, for the approver and the log')
    .addOption(formatOption(DATA))
    .addOption(columnOption(RELEASE_COLUMNS))
    .action(async (id, options) => (await governanceImport()).requestRelease(id, options));
  addAuthOptions(
    release.command('list').description('List release requests you may see (approvers see all).'),
  )
    .addOption(new Option('--status <status>', 'only these').choices(['pending', 'approved', 'rejected']))
    .option('--image <image-id>', "only this image's requests")
    .addOption(formatOption(DATA))
    .addOption(columnOption(RELEASE_COLUMNS))
    .action(async (options) => (await governanceImport()).listReleases(options));
  addAuthOptions(
    release
      .command('approve <request-id>')
      .description(
        'Approve: the image becomes public with the requested class. Never for an image you uploaded, signed or asked to release.',
      ),
  )
    .option('--reason <text>', 'note for the log')
    .addOption(formatOption(DATA))
    .addOption(columnOption(RELEASE_COLUMNS))
    .action(async (id, options) => (await governanceImport()).decideRelease(id, 'approve', options));
  addAuthOptions(release.command('reject <request-id>').description('Reject a release request, saying why.'))
    .requiredOption('--reason <text>', 'why (required)')
    .addOption(formatOption(DATA))
    .addOption(columnOption(RELEASE_COLUMNS))
    .action(async (id, options) => (await governanceImport()).decideRelease(id, 'reject', options));

  registerAuditCommands(program, addStoreOptions);
  registerPolicyCommands(program);
  registerPostureCommands(program);

  const keys = program
    .command('keys')
    .description(
      "Make image-signing keys and certificates, and manage the key manager's key-encryption keys (<data-dir>/kek.json).",
    );
  keys
    .command('generate')
    .description(
      'Generate a signing key and certificate: a self-signed CA by default (usable as a trusted certificate), or a leaf issued by --ca-key/--ca-cert.',
    )
    .requiredOption(
      '--type <type>',
      'RSA-PSS, DSA, ECC_SECP384R1, ECC_SECP521R1, ECC_SECT409K1, ECC_SECT409R1, ECC_SECT571K1 or ECC_SECT571R1',
    )
    .option('--bits <bits>', 'RSA: 2048, 3072 (default) or 4096; DSA: 2048 (default) or 3072')
    .requiredOption('--out-key <file>', 'where to write the private key (PEM, mode 600)')
    .requiredOption('--out-cert <file>', 'where to write the certificate (PEM)')
    .option('--cn <name>', 'certificate common name', 'imagetrust image signing')
    .option('--days <days>', 'validity in days', '365')
    .option('--ca-key <file>', 'issue from this CA key (with --ca-cert)')
    .option('--ca-cert <file>', 'the CA certificate of --ca-key')
    .option('--ca', 'make an issued certificate a CA too')
    .option('--force', 'overwrite existing files')
    .action(async (options) => (await import('./keys-generate.ts')).runKeysGenerate(options));
  addStoreOptions(
    keys
      .command('rotate-kek')
      .description(
        'Make a new key-encryption key current and re-wrap every stored data key under it (payloads untouched); the old keys stay until `keys retire-kek`.',
      ),
  )
    .addOption(new Option('--retire-old').hideHelp())
    .addOption(formatOption(REPORT))
    .action(async (options) => (await import('./keys.ts')).rotateKek(options));
  addStoreOptions(
    keys
      .command('retire-kek')
      .description(
        'Once every process runs with the key rotate-kek made current: re-wrap what was wrapped meanwhile under an old key, then drop the old keys that wrap nothing.',
      ),
  )
    .addOption(formatOption(REPORT))
    .action(async (options) => (await import('./keys.ts')).retireKek(options));

  const blobs = program
    .command('blobs')
    .description(
      'The image data store: find and repair what crashes left behind, move it into an object store.',
    );
  addStoreOptions(
    blobs
      .command('reconcile')
      .description(
        'Put uploads whose process died back to queued (their partial data deleted), delete data no image holds and report images whose data is missing. The server also does this at start and every upload lease. Exit 0 when the store is consistent (after repairs), 1 when something was found that a dry run did not fix or that cannot be repaired (missing data).',
      ),
  )
    .option('--dry-run', 'only report what would be repaired')
    .addOption(formatOption(REPORT))
    .action(async (options) => (await import('./blobs.ts')).runBlobsReconcile(options));
  addStoreOptions(
    blobs
      .command('migrate')
      .description(
        "Copy every image's data from the filesystem store into the S3 object store blobs.s3 describes (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or blobs.s3.credentialsFile), each copy verified against the image's recorded sha512 before it is committed. Resumable: data already in the object store is kept. Exit 0 when every image's data is there, 1 when a copy failed (missing source data, a digest mismatch). Then set blobs.backend to s3.",
      ),
  )
    .requiredOption('--to <backend>', 'the destination backend (s3)')
    .option('--dry-run', 'only report what would be copied')
    .addOption(formatOption(REPORT))
    .action(async (options) => (await import('./blobs.ts')).runBlobsMigrate(options));

  const containers = program
    .command('containers')
    .description(
      'Container image trust as containers/image decides it: policy.json, registries.d, simple signing and sigstore signatures; skopeo-compatible commands.',
    );
  containers
    .command('standalone-sign [manifest] [docker-reference] [key-fingerprint]')
    .usage('[options] <manifest> <docker-reference> [key-fingerprint] -o <file>')
    .description(
      "Sign a manifest for a reference with an OpenPGP key (simple signing), as skopeo standalone-sign: the user's GPG keyring ($GNUPGHOME, gpg-agent) signs, or --key FILE.",
    )
    .option('--sign-by <fingerprint>', 'the signing key in the GPG keyring (or the key-fingerprint argument)')
    .option('--key <file>', 'OpenPGP private key file (armored or binary) instead of the GPG keyring')
    .option('--passphrase-file <file>', 'passphrase of the key')
    // Checked by the command, not commander: skopeo answers a wrong argument count or a missing -o with
    // its usage line and exit status 1, which scripts written for skopeo rely on.
    .option('-o, --output <file>', 'where to write the signature (required)')
    .allowExcessArguments()
    .action(async (_manifest, _reference, _fingerprint, options, command: Command) =>
      (await import('./containers-signing.ts')).runStandaloneSign(command.args, options),
    );
  containers
    .command('standalone-verify [manifest] [docker-reference] [key-fingerprints] [signature]')
    .usage('[options] <manifest> <docker-reference> <key-fingerprints> <signature>')
    .description(
      "Verify a simple signature against a manifest and reference, as skopeo standalone-verify; fingerprints comma-separated, or 'any'.",
    )
    .option(
      '--public-key-file <file>',
      "OpenPGP public keys (armored or binary); default: the user's GPG keyring ($GNUPGHOME)",
    )
    .allowExcessArguments()
    .action(async (_manifest, _reference, _fingerprints, _signature, options, command: Command) =>
      (await import('./containers-signing.ts')).runStandaloneVerify(command.args, options),
    );
  containers
    .command('manifest-digest [manifest]')
    .usage('[options] <manifest>')
    .description(
      'Print the digest of a manifest file as containers/image computes it (schema1 signatures stripped).',
    )
    .allowExcessArguments()
    .action(async (_manifest, _options, command: Command) =>
      (await import('./containers-signing.ts')).runManifestDigest(command.args),
    );
  containers
    .command('check <image>')
    .description(
      'Decide whether policy.json allows IMAGE (transport:reference as skopeo writes it, e.g. docker://host:5000/repo:tag); exit 0 allowed, 1 rejected.',
    )
    .option(
      '--policy <file>',
      'the policy.json to apply (default: $HOME/.config/containers/policy.json if present, else /etc/containers/policy.json)',
    )
    .option(
      '--registries.d <dir>',
      'registries.d directory for lookaside locations (default: $HOME/.config/containers/registries.d if present, else /etc/containers/registries.d)',
    )
    .addOption(formatOption(REPORT))
    .option('--tls-verify <bool>', 'verify registry TLS certificates', 'true')
    .option('--cert-dir <dir>', 'CA certificates for the registry')
    .option('--creds <user:password>', 'registry credentials')
    .action(async (image, options) => (await import('./containers-check.ts')).runCheck(image, options));
  containers
    .command('lint')
    .description(
      'Check policy.json (and registries.d) for errors with positions and for what a reviewer should see.',
    )
    .requiredOption('--policy <file>', 'the policy.json to check')
    .option('--registries.d <dir>', 'registries.d directory')
    .addOption(formatOption(LINT))
    .addOption(columnOption(LINT_COLUMNS))
    .action(async (options) => (await import('./containers-lint.ts')).runLint(options));

  const template = program
    .command('template')
    .description('Image templates (Oz TDL): validation and hardening lint.');
  template
    .command('lint <files...>')
    .description(
      "Lint Oz TDL templates with Oz's own validation rules and hardening rules; exit 1 on any error-level finding.",
    )
    .addOption(formatOption(LINT))
    .addOption(columnOption(LINT_COLUMNS))
    .action(async (files, options) => (await import('./template.ts')).runTemplateLint(files, options));

  const source = program
    .command('source')
    .description('Source media fetched and kept only with a verified OpenPGP-signed checksum list.');
  source
    .command('fetch <url>')
    .description(
      'Download (with resume and progress), verify the signed checksum list and the file, and keep it in a content-addressed cache; a mismatch deletes the download and exits 1.',
    )
    .requiredOption('--checksums <url-or-file>', 'SHA256SUMS/SHA512SUMS or BSD-style checksum list')
    .requiredOption('--signature <url-or-file>', 'detached OpenPGP signature over the checksum list')
    .requiredOption('--keyring <file>', 'OpenPGP public keys trusted to sign the list (armored or binary)')
    .option('--cache-dir <dir>', 'content-addressed cache of verified files', './imagetrust-data/sources')
    .addOption(formatOption(REPORT))
    .action(async (url, options) => (await import('./source.ts')).runSourceFetch(url, options));
  source
    .command('verify <file>')
    .description('Verify a local file against a signed checksum list; exit 1 on any mismatch.')
    .requiredOption('--checksums <url-or-file>', 'checksum list')
    .requiredOption('--signature <url-or-file>', 'detached OpenPGP signature over the checksum list')
    .requiredOption('--keyring <file>', 'trusted OpenPGP public keys')
    .addOption(formatOption(REPORT))
    .action(async (file, options) => (await import('./source.ts')).runSourceVerify(file, options));

  addAuthOptions(
    program
      .command('build <template>')
      .description(
        'Build a bootable qcow2 from an Oz TDL (or YAML) template: lint, bootstrap from the signed archive, customize in an isolated root, sysprep, disk with GRUB for BIOS and UEFI, offline scan and a build record; stages are cached by the digest of their inputs.',
      )
      .option(
        '-o, --output <dir>',
        'where the image, scan report and build record go (default: ./<template name>-build)',
      )
      .option(
        '--cache-dir <dir>',
        'stage cache (default: $IMAGETRUST_BUILD_CACHE, else /var/cache/imagetrust/build as root, ~/.cache/imagetrust/build otherwise)',
      )
      .option('--scan-profile <file>', 'YAML profile for the offline scan (as `imagetrust scan --profile`)')
      .option(
        '--build-key <file>',
        'Ed25519 or ECDSA P-256 private key (PKCS#8 PEM) that signs the provenance (default: $IMAGETRUST_BUILD_KEY, else /etc/imagetrust/build-key.pem as root, ~/.config/imagetrust/build-key.pem otherwise; made on first use with its .pub beside it)',
      )
      .option('--sign', 'sign the qcow2 as Glance verifies it (with --key, as `imagetrust sign`)')
      .option('--key <file>', 'the image signing private key (PEM), with --sign')
      .option('--passphrase-file <file>', 'passphrase of an encrypted signing key')
      .option('--hash-method <method>', 'SHA-224, SHA-256, SHA-384 or SHA-512', 'SHA-256')
      .option('--cert <file>', 'PEM certificate of the signing key: store it in the key manager')
      .option('--cert-id <uuid>', 'key-manager id of a certificate stored before')
      .option(
        '--upload',
        'create and upload the signed image and attach its scan report and provenance (needs --sign; refused when the scan failed)',
      )
      .option('--name <name>', 'image name with --upload (default: the template name)')
      .option('--visibility <visibility>', 'private, shared, community or public')
      .option(
        '--property <key=value>',
        'extra image property with --upload (repeatable)',
        (value: string, all: string[] = []) => [...all, value],
      )
      .addOption(formatOption(REPORT))
      .addHelpText(
        'after',
        "\nExamples:\n  imagetrust build debian-12.tdl -o out/\n  imagetrust build debian-12.tdl --sign --key signer.key --cert signer.pem --upload --os-cloud mycloud\n\n<install type='iso'> templates are refused: this builder installs from a distribution's package archive.",
      ),
  ).action(async (template, options) => (await import('./build.ts')).runBuild(template, options));

  program
    .command('sysprep [image]')
    .description(
      'Remove host-specific state from an image (raw, qcow2) without mounting it, as virt-sysprep does; lists exactly what it changes.',
    )
    .option(
      '--operations <list>',
      "comma-separated operations as virt-sysprep: 'op' or '+op' adds, '-op' removes, 'defaults' and 'all' add groups (e.g. defaults,-ssh-hostkeys); default: the default set",
    )
    .option(
      '--list-operations',
      'print every operation, whether it is on by default (*), and what it does; needs no image',
    )
    .option('--dry-run', 'only list what would change')
    .option('--force', 'run ssh-hostkeys even when nothing would regenerate the keys at boot')
    .option('--user <names>', 'accounts removed by user-account (comma-separated)', 'vagrant')
    .option(
      '--disable-units <names>',
      'systemd units disabled by disable-units (comma-separated)',
      'autofs.service',
    )
    .addOption(formatOption(REPORT))
    .action(async (image, options) => (await import('./sysprep.ts')).runSysprep(image, options));

  program
    .command('scan <image>')
    .description(
      'Run the offline compliance suite on an image (directory, tar, raw, qcow2); exit 1 on a failed check.',
    )
    .option(
      '--profile <file>',
      'YAML profile: which checks, approved repository hosts, required/forbidden units, kernel arguments',
    )
    .addOption(formatOption(['text', ...DATA_FORMATS, 'junit', 'sarif']))
    .option(
      '--digest',
      "record the file's sha512 in the JSON report, binding it to the image a release attaches it to",
    )
    .action(async (image, options) => (await import('./scan.ts')).runScan(image, options));

  program
    .command('test-boot <image>')
    .description(
      'Boot an image (qcow2, raw) under QEMU in a private network and run the booted tests; exit 1 when one does not pass.',
    )
    .option(
      '--profile <file>',
      'YAML or JSON profile: which tests, expectations, timeouts (default: debian-12-cloud)',
    )
    .addOption(new Option('--firmware <firmware>', 'boot firmware').choices(['bios', 'uefi']).default('bios'))
    .addOption(
      new Option('--accel <accel>', 'accelerator: kvm only when it works here')
        .choices(['auto', 'kvm', 'tcg'])
        .default('auto'),
    )
    .option(
      '--disk-size <size>',
      "size of the guest's disk overlay, e.g. 10G (default: the image's size + 1G)",
    )
    .option(
      '--boot-timeout <seconds>',
      'how long the guest agent may take to answer (default: the profile, 600)',
    )
    .option(
      '--property <key=value>',
      'an image property, as Glance would pass it to Nova (repeatable), e.g. hw_rng_model=virtio',
      (value: string, all: string[] = []) => [...all, value],
    )
    .addOption(formatOption(['text', ...DATA_FORMATS, 'junit']))
    .option('-o, --output <file>', 'also write the report to this file')
    .action(async (image, options) => (await import('./test-boot.ts')).runTestBoot(image, options));

  program
    .command('completion')
    .description('Print a shell completion script, generated from this command tree.')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      '\nExamples:\n  source <(imagetrust completion bash)\n  imagetrust completion zsh > ~/.zfunc/_imagetrust',
    )
    .action(async (shell: 'bash' | 'zsh', _options, command: Command) =>
      (await import('./completion.ts')).runCompletion(shell, command),
    );
  program
    .command('man')
    .description('Print the imagetrust(1) manual page (roff), generated from this command tree.')
    .addHelpText('after', '\nExample:\n  imagetrust man | man -l -')
    .action(async (_options, command: Command) => (await import('./man.ts')).runMan(command));

  return program;
}
