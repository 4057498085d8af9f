// `imagetrust containers standalone-sign | standalone-verify | manifest-digest`: skopeo's commands with
// skopeo's texts and exit status 1 on any failure, over keys given as files instead of a GPG home.
import { readFile, writeFile } from 'node:fs/promises';
import {
  computeManifestDigest,
  readOpenPgpPrivateKeys,
  readOpenPgpPublicKeys,
  signDockerManifest,
  verifyDockerManifestSignature,
} from '../containers/index.ts';
import { ImageTrustError, ValidationError } from '../errors/index.ts';

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

export interface StandaloneSignFlags {
  key: string;
  passphraseFile?: string;
  output: string;
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

export function runStandaloneSign(
  manifestPath: string,
  reference: string,
  fingerprint: string,
  flags: StandaloneSignFlags,
): Promise<void> {
  return asSkopeo(async () => {
    const manifest = await readInput(manifestPath, `Error reading ${manifestPath}`);
    const passphrase =
      flags.passphraseFile === undefined ? undefined : await readPassphrase(flags.passphraseFile);
    let signature: Uint8Array;
    try {
      const keyFile = await readInput(flags.key, 'Error reading private key');
      const privateKeys = await readOpenPgpPrivateKeys(keyFile, passphrase);
      signature = await signDockerManifest({
        manifest,
        dockerReference: reference,
        privateKeys,
        fingerprint,
        now: new Date(),
      });
    } catch (error) {
      throw prefixed('Error creating signature', error);
    }
    try {
      await writeFile(flags.output, signature, { mode: 0o644 });
    } catch (error) {
      throw new ValidationError(
        'BAD_REQUEST',
        `Error writing signature to ${flags.output}: ${goFileError('open', flags.output, error)}`,
        { cause: error },
      );
    }
  });
}

export interface StandaloneVerifyFlags {
  publicKeyFile: string;
}

export function runStandaloneVerify(
  manifestPath: string,
  reference: string,
  fingerprints: string,
  signaturePath: string,
  flags: StandaloneVerifyFlags,
): Promise<void> {
  return asSkopeo(async () => {
    const manifest = await readInput(manifestPath, `Error reading manifest from ${manifestPath}`);
    const signature = await readInput(signaturePath, `Error reading signature from ${signaturePath}`);
    const keyFile = await readInput(
      flags.publicKeyFile,
      `Error reading public key from ${flags.publicKeyFile}`,
    );
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

export function runManifestDigest(manifestPath: string): Promise<void> {
  return asSkopeo(async () => {
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
