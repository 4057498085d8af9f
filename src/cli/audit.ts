// `imagetrust audit`: check the whole stored transparency log against its signed heads (verify), fetch an
// image's history with proofs from a server (proof), check such a file offline (verify-proof) and print the
// log's public key (public-key).
import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import type { AuditLeaf, AuditProofBundle, SignedTreeHead, StoredLogReport } from '../audit/index.ts';
import type { AuthFlags, Session } from '../client/index.ts';
import { addAuthOptions } from './connect.ts';
import { formatOption, printResult, REPORT_FORMATS } from './output.ts';
import type { StoreFlags } from './store.ts';

interface VerifyFlags extends StoreFlags {
  publicKey?: string;
  format?: string;
}

interface ProofFlags extends AuthFlags {
  format?: string;
  output?: string;
  sinceHead?: string;
}

interface PublicKeyFlags extends StoreFlags, AuthFlags {
  format?: string;
}

interface VerifyProofFlags {
  publicKey: string;
  format?: string;
  previousHead?: string;
  saveHead?: string;
}

/**
 * Adds the `audit` group to the program. `addStoreOptions` is main.ts's helper (--config, --data-dir,
 * --database), passed in so this module does not import the entry point.
 */
export function registerAuditCommands(
  program: Command,
  addStoreOptions: (command: Command) => Command,
): void {
  const audit = program
    .command('audit')
    .description('The transparency log: verify the stored log, fetch and verify proofs of an image history.');
  addStoreOptions(
    audit
      .command('verify')
      .description(
        'Check every stored entry and signed tree head of the log (hashes, order, signatures), that every entry is under a signed head, and that the log still reaches the largest head this host signed; exit 1 at the first problem.',
      ),
  )
    .option('--public-key <file>', "the log's public key PEM (default: derived from the signing key file)")
    .addOption(formatOption(REPORT_FORMATS))
    .action(async (flags: VerifyFlags) => runAuditVerify(flags));
  addAuthOptions(
    audit
      .command('proof <image-id>')
      .description(
        "Fetch an image's history from the server with an inclusion proof per entry, as a file `audit verify-proof` checks offline.",
      )
      .addOption(formatOption(REPORT_FORMATS))
      .option('-o, --output <file>', 'also write the proof file (JSON) here')
      .option(
        '--since-head <file>',
        'a tree head pinned earlier (from `verify-proof --save-head`): add a proof that the log only grew since',
      ),
  ).action(async (imageId: string, flags: ProofFlags) => runAuditProof(imageId, flags));
  addAuthOptions(
    addStoreOptions(
      audit
        .command('public-key')
        .description(
          "Print the log's public key (PEM) for `verify-proof --public-key`: from the local store's signing key file, or with --os-auth-url/--os-cloud from the server's /audit/v1/tree-head.",
        ),
    ),
  )
    .addOption(formatOption(REPORT_FORMATS))
    .action(async (flags: PublicKeyFlags) => runAuditPublicKey(flags));
  audit
    .command('verify-proof <file>')
    .description(
      "Verify a proof file offline against the log's public key: head signature, each leaf and its audit path; exit 1 on failure.",
    )
    .requiredOption('--public-key <file>', "the log's public key PEM (a trusted copy)")
    .option(
      '--previous-head <file>',
      'a tree head pinned earlier: also require a proof that this head extends it (no rewrite, no fork)',
    )
    .option('--save-head <file>', 'after a successful check, write the verified tree head here, to pin it')
    .addOption(formatOption(REPORT_FORMATS))
    .addHelpText(
      'after',
      '\nExample, pinning the head between two checks:\n  imagetrust audit proof IMAGE -o h1.json && imagetrust audit verify-proof h1.json --public-key log.pub --save-head pinned.json\n  imagetrust audit proof IMAGE --since-head pinned.json -o h2.json && imagetrust audit verify-proof h2.json --public-key log.pub --previous-head pinned.json',
    )
    .action(async (file: string, flags: VerifyProofFlags) => runAuditVerifyProof(file, flags));
}

function describeReport(report: StoredLogReport): string {
  if (!report.ok) {
    return `bad: entry ${report.firstBadSeq} ${report.problem}: ${report.message}`;
  }
  const head = report.head
    ? `tree head ${report.head.root_hash} (size ${report.head.tree_size}) signed at ${report.head.signed_at}`
    : 'no signed tree head yet';
  return `ok: ${report.treeSize} entries, ${head}, ${report.heads} heads checked`;
}

export async function runAuditVerify(flags: VerifyFlags): Promise<void> {
  const { verifyLocalAuditLog } = await import('../app/index.ts');
  const { configFromFlags } = await import('./store.ts');
  // A key file that is missing or not Ed25519 is the user's input, refused before the log is opened.
  if (flags.publicKey) await readAuditPublicKey(flags.publicKey);
  const report = await verifyLocalAuditLog(configFromFlags(flags), flags.publicKey);
  printResult(report, flags, {
    text: () => (report.ok ? process.stdout : process.stderr).write(`${describeReport(report)}\n`),
  });
  if (!report.ok) process.exitCode = 1;
}

/** The public key: the server's when a server is named on the command line, else the local key file's. */
export async function runAuditPublicKey(flags: PublicKeyFlags): Promise<void> {
  let pem: string;
  if (flags.osAuthUrl || flags.osCloud) {
    const { connect } = await import('./connect.ts');
    const session = await connect(flags);
    const head = await session.json<{ public_key: string }>('GET', `${auditBase(session)}/v1/tree-head`);
    pem = head.public_key;
  } else {
    const { readAuditPublicKey } = await import('../app/index.ts');
    const { configFromFlags } = await import('./store.ts');
    pem = await readAuditPublicKey(configFromFlags(flags));
  }
  if (!pem.endsWith('\n')) pem = `${pem}\n`;
  // The PEM itself by default, so `audit public-key > log.pub` feeds `verify-proof --public-key`.
  printResult({ public_key: pem }, flags, { text: () => process.stdout.write(pem) });
}

/** The audit API's base: the catalog's `audit` entry, else beside the image API on the same server. */
function auditBase(session: Session): string {
  try {
    return session.endpoint('audit');
  } catch {
    return `${session.endpoint('image').replace(/\/image$/, '')}/audit`;
  }
}

/** The log's public key from a PEM file: unreadable is INPUT_UNREADABLE, anything but Ed25519 INPUT_INVALID. */
async function readAuditPublicKey(file: string): Promise<KeyObject> {
  const { readFile } = await import('node:fs/promises');
  const { auditPublicKeyFromPem } = await import('../audit/index.ts');
  const { ImageTrustError } = await import('../errors/index.ts');
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_UNREADABLE',
      `Cannot read the public key ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return auditPublicKeyFromPem(pem);
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_INVALID',
      `${file} is not an Ed25519 public key, which the audit log signs with: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** A pinned tree head: a file holding the head itself, or a proof file whose `tree_head` it takes. */
async function readTreeHead(file: string): Promise<SignedTreeHead> {
  const { readFile } = await import('node:fs/promises');
  const { ValidationError } = await import('../errors/index.ts');
  let parsed: { tree_head?: SignedTreeHead } & Partial<SignedTreeHead>;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ValidationError(
      'MALFORMED_JSON',
      `Cannot read the tree head ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const head = (parsed.tree_head ?? parsed) as SignedTreeHead;
  if (
    !Number.isSafeInteger(head?.tree_size) ||
    typeof head.root_hash !== 'string' ||
    typeof head.signature !== 'string'
  ) {
    throw new ValidationError(
      'BAD_REQUEST',
      `${file} holds no signed tree head (tree_size, root_hash, signature).`,
    );
  }
  return head;
}

function describeLeaf(leaf: AuditLeaf): string {
  const actor = leaf.actor ? (leaf.actor.user_name ?? leaf.actor.user_id) : '-';
  const digest = leaf.content_digest ? ` ${leaf.content_digest}` : '';
  return `#${leaf.seq} ${leaf.recorded_at} ${leaf.type} by ${actor}${digest}${describeAttachment(leaf)}`;
}

/** What a report attachment said: its kind and verdict, and for provenance who built and signed. */
function describeAttachment(leaf: AuditLeaf): string {
  if (leaf.type !== 'image.report_attached') return '';
  const details = leaf.details;
  // Entries logged before reports had kinds were compliance reports.
  const kind = typeof details.kind === 'string' ? details.kind : 'compliance';
  if (kind === 'provenance') {
    return ` (provenance verified: builder ${String(details.builder_id)}, key ${String(details.key_id).slice(0, 16)}…)`;
  }
  return ` (${kind} ${details.passed ? 'passed' : 'FAILED'})`;
}

export async function runAuditProof(imageId: string, flags: ProofFlags): Promise<void> {
  const { writeOutputFile } = await import('./output-file.ts');
  const { auditPublicKeyFromPem, parseAuditLeaf, verifyAuditProofBundle } = await import('../audit/index.ts');
  const { connect } = await import('./connect.ts');
  const session = await connect(flags);
  const bundle = await session.json<AuditProofBundle>(
    'GET',
    `${auditBase(session)}/v1/images/${encodeURIComponent(imageId)}`,
  );
  if (flags.sinceHead) {
    const pinned = await readTreeHead(flags.sinceHead);
    const current = bundle.tree_head.tree_size;
    if (pinned.tree_size > current) {
      throw new (await import('../errors/index.ts')).ImageTrustError(
        'CONFLICT',
        `The log now has ${current} entries, fewer than the ${pinned.tree_size} of the pinned head: it was rolled back.`,
      );
    }
    const proof = await session.json<{ consistency_path: string[] }>(
      'GET',
      `${auditBase(session)}/v1/proofs/consistency?first=${pinned.tree_size}&second=${current}`,
    );
    bundle.consistency = { from: pinned, path: proof.consistency_path };
  }
  const text = `${JSON.stringify(bundle, null, 2)}\n`;
  if (flags.output) await writeOutputFile(flags.output, text);
  // A first check with the key the server sent; only a trusted copy of the key (verify-proof) proves more.
  const check = verifyAuditProofBundle(bundle, auditPublicKeyFromPem(bundle.public_key));
  if (flags.format === 'json') process.stdout.write(text);
  else if (flags.format !== 'text') printResult(bundle, flags);
  else {
    const head = bundle.tree_head;
    const lines = [
      `image ${bundle.subject_id}: ${bundle.entries.length} entries under tree head ${head.root_hash} (size ${head.tree_size}) signed at ${head.signed_at} by key ${head.key_id}`,
      ...bundle.entries.map((entry) => {
        const leaf = parseAuditLeaf(entry.leaf);
        return `  ${leaf ? describeLeaf(leaf) : `#${entry.seq} (unreadable leaf)`}  [${entry.audit_path.length}-hash proof]`;
      }),
      check.ok
        ? "proofs check out against the server's key; verify offline with `imagetrust audit verify-proof FILE --public-key PEM`"
        : `proofs do NOT check out: ${check.message}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!check.ok) process.exitCode = 1;
}

export async function runAuditVerifyProof(file: string, flags: VerifyProofFlags): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { verifyAuditProofBundle } = await import('../audit/index.ts');
  const { ValidationError } = await import('../errors/index.ts');
  let bundle: unknown;
  try {
    bundle = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ValidationError(
      'MALFORMED_JSON',
      `Cannot read the proof file ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const previousHead = flags.previousHead ? await readTreeHead(flags.previousHead) : undefined;
  const check = verifyAuditProofBundle(bundle, await readAuditPublicKey(flags.publicKey), {
    previousHead,
  });
  if (check.ok && flags.saveHead) {
    const { writeOutputFile } = await import('./output-file.ts');
    await writeOutputFile(
      flags.saveHead,
      `${JSON.stringify((bundle as AuditProofBundle).tree_head, null, 2)}\n`,
    );
  }
  printResult(check, flags, {
    text: () => {
      if (check.ok) {
        process.stdout.write(
          `ok: ${check.entries} entries included in the signed tree of size ${check.treeSize}\n`,
        );
      } else {
        process.stderr.write(
          `bad: ${check.seq === null ? '' : `entry ${check.seq} `}${check.problem}: ${check.message}\n`,
        );
      }
    },
  });
  if (!check.ok) process.exitCode = 1;
}
