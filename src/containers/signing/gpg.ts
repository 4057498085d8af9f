// The user's GPG keyring ($GNUPGHOME, its agent and pinentry), as skopeo's gpgme mechanism uses it:
// public keys exported for verification, and simple signatures made by gpg itself, so a key that
// never leaves the agent (or a smartcard) signs too.
import { execFile } from 'node:child_process';
import { ValidationError } from '../../errors/index.ts';
import { computeManifestDigest } from './manifest-digest.ts';
import { createSimpleSigningPayload } from './payload.ts';
import { SIMPLE_SIGNING_CREATOR } from './sign.ts';

function runGpg(args: string[], input?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'gpg',
      ['--batch', '--no-tty', ...args],
      { encoding: 'buffer', maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const text = stderr.toString('utf8').trim().split('\n').pop() ?? error.message;
        reject(
          new ValidationError(
            'BAD_REQUEST',
            (error as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'Error initializing GPG: gpg is not installed (apt-get install gnupg)'
              : text,
            { cause: error },
          ),
        );
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? Buffer.alloc(0));
  });
}

/** Every public key of the user's keyring, binary, for the OpenPGP verifier. */
export async function exportGpgPublicKeys(): Promise<Buffer> {
  return runGpg(['--export']);
}

export interface GpgSignOptions {
  manifest: Uint8Array;
  dockerReference: string;
  fingerprint: string;
  now: Date;
  /** A file whose first line is the passphrase; without it, gpg-agent asks (or has it cached). */
  passphraseFile?: string;
}

/** The signature blob skopeo standalone-sign writes, made by `gpg --sign` with the keyring's key. */
export async function signDockerManifestWithGpg(options: GpgSignOptions): Promise<Buffer> {
  const secret = await runGpg(['--with-colons', '--list-secret-keys', options.fingerprint]).catch(() => null);
  if (secret === null || !/^fpr:/m.test(secret.toString('utf8'))) {
    throw new ValidationError('BAD_REQUEST', `key ${JSON.stringify(options.fingerprint)} not found`);
  }
  const payload = createSimpleSigningPayload({
    dockerManifestDigest: computeManifestDigest(options.manifest),
    dockerReference: options.dockerReference,
    creator: SIMPLE_SIGNING_CREATOR,
    now: options.now,
  });
  return runGpg(
    [
      ...(options.passphraseFile
        ? ['--pinentry-mode', 'loopback', '--passphrase-file', options.passphraseFile]
        : []),
      '--local-user',
      options.fingerprint,
      '--sign',
      '--output',
      '-',
    ],
    payload,
  );
}
