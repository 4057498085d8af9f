// Test-only signature mechanisms for policy evaluation, built on real cryptography: OpenPGP through the
// `openpgp` package (signatures made by gpg and skopeo), sigstore through node:crypto. The production
// mechanisms live in src/containers/signing and src/containers/sigstore and plug into the same ports.
import { execFileSync } from 'node:child_process';
import { createHash, createVerify, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as openpgp from 'openpgp';
import {
  type PolicyImage,
  type PolicyMechanisms,
  readKeyFile,
  type SigstoreSignature,
} from '../../../src/containers/policy/index.ts';
import { parseImageName } from '../../../src/containers/reference/index.ts';
import { PolicyError } from '../../../src/errors/index.ts';

const reject = (message: string) => new PolicyError('SIGNATURE_REJECTED', message);

function parseClaims(payload: Buffer, expectedType: string) {
  let parsed: {
    critical?: { type?: string; image?: Record<string, string>; identity?: Record<string, string> };
  };
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw reject(`Invalid signature payload: ${(error as Error).message}`);
  }
  const critical = parsed.critical;
  if (critical?.type !== expectedType) throw reject(`Unrecognized signature type ${critical?.type}`);
  return {
    dockerManifestDigest: String(critical.image?.['docker-manifest-digest']),
    dockerReference: String(critical.identity?.['docker-reference']),
  };
}

async function readKeyMaterial(material: Buffer[]): Promise<openpgp.Key[]> {
  const keys: openpgp.Key[] = [];
  for (const data of material) {
    try {
      const text = data.toString('utf8');
      keys.push(
        ...(text.includes('-----BEGIN PGP')
          ? await openpgp.readKeys({ armoredKeys: text })
          : await openpgp.readKeys({ binaryKeys: new Uint8Array(data) })),
      );
    } catch {
      // Like gpg's import, material that is not a key imports nothing.
    }
  }
  return keys;
}

async function readSignedMessage(signature: Buffer) {
  const text = signature.toString('latin1');
  if (text.startsWith('-----BEGIN PGP SIGNED MESSAGE'))
    return openpgp.readCleartextMessage({ cleartextMessage: text });
  if (text.startsWith('-----BEGIN PGP')) return openpgp.readMessage({ armoredMessage: text });
  return openpgp.readMessage({ binaryMessage: new Uint8Array(signature) });
}

/** Real cryptography behind the policy ports, for tests. */
export function createTestMechanisms(): PolicyMechanisms {
  return {
    simpleSigning: {
      async verify(signature, keyMaterial) {
        const keys = await readKeyMaterial(keyMaterial);
        if (keys.length === 0) throw reject('No public keys imported');
        let message: Awaited<ReturnType<typeof readSignedMessage>>;
        try {
          message = await readSignedMessage(signature);
        } catch {
          throw reject('No data');
        }
        let result: Awaited<ReturnType<typeof openpgp.verify>>;
        try {
          result = await openpgp.verify({
            // biome-ignore lint/suspicious/noExplicitAny: openpgp overloads differ for cleartext and binary messages.
            message: message as any,
            verificationKeys: keys,
            format: 'binary',
          });
        } catch (error) {
          throw reject(`Invalid GPG signature: ${(error as Error).message}`);
        }
        if (result.signatures.length !== 1)
          throw reject(`Unexpected GPG signature count ${result.signatures.length}`);
        const [only] = result.signatures;
        try {
          await only.verified;
        } catch (error) {
          throw reject(`Invalid GPG signature: ${(error as Error).message}`);
        }
        const signer = keys.find((k) => k.getKeys(only.keyID).length > 0)!;
        const data = Buffer.from(result.data as Uint8Array);
        return {
          fingerprint: signer.getFingerprint().toUpperCase(),
          payload: parseClaims(data, 'atomic container signature'),
        };
      },
    },
    sigstore: {
      async verify(signature, trust) {
        const encoded = signature.annotations['dev.cosignproject.cosign/signature'];
        if (encoded === undefined) throw reject('missing dev.cosignproject.cosign/signature annotation');
        const raw = Buffer.from(encoded, 'base64');
        const ok = (trust.publicKeys ?? []).some((pem) =>
          createVerify('sha256').update(signature.payload).verify(pem.toString('utf8'), raw),
        );
        if (!ok) throw reject('cryptographic signature verification failed: invalid signature');
        return { payload: parseClaims(signature.payload, 'cosign container image signature') };
      },
    },
    manifestDigest(manifest, algorithm) {
      return `${algorithm}:${createHash(algorithm).update(manifest).digest('hex')}`;
    },
    readKeyFile,
  };
}

/** An image as a registry adapter would present it. */
export function testImage(
  imageName: string,
  manifest: Buffer,
  simple: Buffer[] = [],
  sigstore: SigstoreSignature[] = [],
): PolicyImage {
  return {
    reference: parseImageName(imageName),
    manifest: async () => ({ bytes: manifest, mimeType: 'application/vnd.oci.image.manifest.v1+json' }),
    simpleSignatures: async () => simple,
    sigstoreSignatures: async () => sigstore,
  };
}

/** A throwaway GnuPG home with one Ed25519 signing key, and skopeo to sign with it. */
export class GpgSigner {
  readonly home: string;
  readonly fingerprint: string;

  constructor(dir: string, email: string) {
    this.home = path.join(dir, `gnupg-${email}`);
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    this.gpg('--quick-gen-key', `Policy Test <${email}>`, 'ed25519', 'sign', 'never');
    const listing = this.gpg('--list-keys', '--with-colons');
    this.fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
  }

  gpg(...args: string[]): string {
    return execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: this.home },
      encoding: 'latin1',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** The public key, armored or binary, written to `file`. */
  exportPublicKey(file: string, armored: boolean): Buffer {
    const data = execFileSync(
      'gpg',
      ['--batch', ...(armored ? ['--armor'] : []), '--export', this.fingerprint],
      {
        env: { ...process.env, GNUPGHOME: this.home },
      },
    );
    writeFileSync(file, data);
    return data;
  }

  /** `skopeo standalone-sign`: a real simple-signing signature of `manifest` claiming `reference`. */
  sign(dir: string, manifest: Buffer, reference: string): Buffer {
    const manifestFile = path.join(
      dir,
      `manifest-${createHash('sha256').update(manifest).digest('hex')}.json`,
    );
    const output = path.join(dir, `sig-${Math.random().toString(36).slice(2)}`);
    writeFileSync(manifestFile, manifest);
    execFileSync('skopeo', ['standalone-sign', manifestFile, reference, this.fingerprint, '-o', output], {
      env: { ...process.env, GNUPGHOME: this.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return readFileSync(output);
  }
}

/** A cosign-style key pair and the attachments it signs. */
export class SigstoreSigner {
  readonly privateKey: KeyObject;
  readonly publicKeyPem: Buffer;

  constructor() {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    this.publicKeyPem = Buffer.from(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  }

  sign(manifest: Buffer, reference: string): SigstoreSignature {
    const payload = Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': reference },
          image: {
            'docker-manifest-digest': `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
          },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    );
    return {
      mimeType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      payload,
      annotations: {
        'dev.cosignproject.cosign/signature': sign('sha256', payload, this.privateKey).toString('base64'),
      },
    };
  }
}
