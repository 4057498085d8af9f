// `imagetrust containers standalone-sign | standalone-verify | manifest-digest`: skopeo's commands with
// skopeo's texts and exit status 1 on any failure, over the user's GPG keyring ($GNUPGHOME) as skopeo
// uses it, or keys given as files.
import { readFile } from 'node:fs/promises';
import {
  computeManifestDigest,
  exportGpgPublicKeys,
  readOpenPgpPrivateKeys,
  readOpenPgpPublicKeys,
  signDockerManifest,
  signDockerManifestWithGpg,
  verifyDockerManifestSignature,
} from '../containers/index.ts';
import { ImageTrustError, ValidationError } from '../errors/index.ts';
import { replaceFile } from '../storage/index.ts';

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
};

/** Node's fs error worded as Go's os package words it (`open <path>: no such file or directory`). */
function goFileError(operation: string, path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code === 'EISDIR') return `read ${path}: is a directory`;
  return `${operation} ${path}: ${GO_ERRNO_TEXT[code] ?? (error as Error).message}`;
}

async function readInput(path: string, context: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ValidationError('BAD_REQUEST', `${context}: ${goFileError('open', path, error)}`, {
      cause: error,
    });
  }
}

function prefixed(context: string, error: unknown): unknown {
  if (!(error instanceof ImageTrustError)) return error;
  return new ImageTrustError(error.code, `${context}: ${error.message}`, { cause: error });
}

/** skopeo exits 1 on every failure (logrus.Fatal); our catalogue's exit codes would say more but break scripts. */
async function asSkopeo(command: () => Promise<void>): Promise<void> {
  try {
    await command();
  } catch (error) {
    if (!(error instanceof ImageTrustError)) throw error;
    process.stderr.write(`imagetrust: ${error.message}\n`);
    process.exitCode = 1;
  }
}

/** skopeo's usage lines, worded with our command names; skopeo prints them for a wrong argument count. */
const USAGE = {
  sign: 'Usage: imagetrust containers standalone-sign manifest docker-reference key-fingerprint -o signature (or --sign-by FINGERPRINT)',
  verify:
    'Usage: imagetrust containers standalone-verify manifest docker-reference key-fingerprint signature',
  digest: 'Usage: imagetrust containers manifest-digest manifest',
} as const;

/** The positional arguments when there are `min` to `max` of them, else skopeo's usage error. */
function positionals(args: readonly string[], min: number, max: number, usage: string): string[] {
  if (args.length < min || args.length > max) throw new ValidationError('BAD_REQUEST', usage);
  return [...args];
}

export interface StandaloneSignFlags {
  /** An OpenPGP private key file; without it the user's GPG keyring signs, as skopeo. */
  key?: string;
  /** The key's fingerprint, as skopeo copy --sign-by; the same as the positional argument. */
  signBy?: string;
  passphraseFile?: string;
  /** Required, as skopeo's -o; checked by the command so that its absence exits 1 with the usage line. */
  output?: string;
}

function signingFingerprint(positional: string | undefined, signBy: string | undefined): string {
  if (positional && signBy && positional !== signBy) {
    throw new ValidationError(
      'BAD_REQUEST',
      `--sign-by ${signBy} and the key-fingerprint argument ${positional} name different keys`,
    );
  }
  const fingerprint = positional ?? signBy;
  if (!fingerprint) throw new ValidationError('BAD_REQUEST', USAGE.sign);
  return fingerprint;
}

/** c/common's ReadPassphraseFile: the first line, without its "\n" (a "\r" stays, as in Go). */
async function readPassphrase(path: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path)).toString('utf8');
  } catch (error) {
    throw new ValidationError('BAD_REQUEST', goFileError('open', path, error), { cause: error });
  }
  const newline = text.indexOf('\n');
  return newline === -1 ? text : text.slice(0, newline);
}

export function runStandaloneSign(args: readonly string[], flags: StandaloneSignFlags): Promise<void> {
  return asSkopeo(async () => {
    const [manifestPath, reference, positionalFingerprint] = positionals(args, 2, 3, USAGE.sign);
    const output = flags.output;
    if (output === undefined) throw new ValidationError('BAD_REQUEST', USAGE.sign);
    const fingerprint = signingFingerprint(positionalFingerprint, flags.signBy);
    const manifest = await readInput(manifestPath, `Error reading ${manifestPath}`);
    const passphrase =
      flags.passphraseFile === undefined ? undefined : await readPassphrase(flags.passphraseFile);
    let signature: Uint8Array;
    try {
      if (flags.key === undefined) {
        signature = await signDockerManifestWithGpg({
          manifest,
          dockerReference: reference,
          fingerprint,
          now: new Date(),
          passphraseFile: flags.passphraseFile,
        });
      } else {
        const keyFile = await readInput(flags.key, 'Error reading private key');
        const privateKeys = await readOpenPgpPrivateKeys(keyFile, passphrase);
        signature = await signDockerManifest({
          manifest,
          dockerReference: reference,
          privateKeys,
          fingerprint,
          now: new Date(),
        });
      }
    } catch (error) {
      throw prefixed('Error creating signature', error);
    }
    try {
      // Whole or not at all: a signature cut short would fail every later verification.
      await replaceFile(output, signature, { mode: 0o644, parents: false });
    } catch (error) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Error writing signature to ${output}: ${goFileError('open', output, error)}`,
        { cause: error },
      );
    }
  });
}

export interface StandaloneVerifyFlags {
  /** Public keys to trust; without it, the user's GPG keyring, as skopeo. */
  publicKeyFile?: string;
}

export function runStandaloneVerify(args: readonly string[], flags: StandaloneVerifyFlags): Promise<void> {
  return asSkopeo(async () => {
    const [manifestPath, reference, fingerprints, signaturePath] = positionals(args, 4, 4, USAGE.verify);
    const manifest = await readInput(manifestPath, `Error reading manifest from ${manifestPath}`);
    const signature = await readInput(signaturePath, `Error reading signature from ${signaturePath}`);
    if (flags.publicKeyFile === undefined && fingerprints === 'any') {
      throw new ValidationError('BAD_REQUEST', 'Cannot use any fingerprint without a public key file');
    }
    const keyFile =
      flags.publicKeyFile === undefined
        ? await exportGpgPublicKeys().catch((error: unknown) => {
            throw prefixed('Error initializing GPG', error);
          })
        : await readInput(flags.publicKeyFile, `Error reading public key from ${flags.publicKeyFile}`);
    const expectedFingerprints =
      fingerprints === 'any'
        ? ('any' as const)
        : fingerprints.split(',').map((fingerprint) => fingerprint.trim());
    let verified: Awaited<ReturnType<typeof verifyDockerManifestSignature>>;
    try {
      verified = await verifyDockerManifestSignature({
        signature,
        manifest,
        expectedDockerReference: reference,
        publicKeys: await readOpenPgpPublicKeys([keyFile]),
        expectedFingerprints,
        now: new Date(),
      });
    } catch (error) {
      throw prefixed('Error verifying signature', error);
    }
    process.stdout.write(
      `Signature verified using fingerprint ${verified.fingerprint}, digest ${verified.payload.dockerManifestDigest}\n`,
    );
  });
}

export function runManifestDigest(args: readonly string[]): Promise<void> {
  return asSkopeo(async () => {
    const [manifestPath] = positionals(args, 1, 1, USAGE.digest);
    const manifest = await readInput(manifestPath, `Error reading manifest from ${manifestPath}`);
    let digest: string;
    try {
      digest = computeManifestDigest(manifest);
    } catch (error) {
      throw prefixed('Error computing digest', error);
    }
    process.stdout.write(`${digest}\n`);
  });
}
