// Opens an image name (`docker://…`, `dir:…`, `oci:…`) as what the policy evaluator reads: the parsed
// reference, the manifest bytes, and the signatures of both kinds, each fetched once and only on demand.
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImageTrustError, NotFoundError, PolicyError } from '../../errors/index.ts';
import type { DestinationGuard } from '../destination-guard.ts';
import { type DockerReference, type ImageReference, parseImageName } from '../reference/index.ts';
import {
  digestOf,
  guessManifestMimeType,
  RegistryClient,
  type RegistryCredentials,
} from '../registry/index.ts';
import { readSigstoreAttachments, type SigstoreSignature } from '../sigstore/index.ts';
import { type LookasideSignatureUrl, lookasideAt, readLookasideSignatures } from './lookaside.ts';
import { parseStoredSignature, type StoredSignature } from './signature-blob.ts';

/** An image as the policy sees it; structurally the policy's PolicyImage port. */
export interface PolicyImageSource {
  reference: ImageReference;
  manifest(): Promise<{ bytes: Buffer; mimeType: string }>;
  simpleSignatures(): Promise<Buffer[]>;
  sigstoreSignatures(): Promise<SigstoreSignature[]>;
}

/** Where the signatures of one docker image live (registries.d, resolved for that image). */
export interface SignatureStorage {
  /** Where lookaside signature N lives (file:, http:, https:); absent for no lookaside. */
  lookaside?: LookasideSignatureUrl;
  useSigstoreAttachments: boolean;
}

export interface OpenPolicyImageOptions {
  /** registries.d lookup for a docker reference; without it, c/image's built-in default lookaside applies. */
  signatureStorage?: (reference: DockerReference) => SignatureStorage;
  tlsVerify?: boolean;
  certDir?: string;
  credentials?: RegistryCredentials;
  /** The manifest digest as c/image computes it (schema1-aware); defaults to a plain hash. */
  manifestDigest?: (manifest: Buffer, algorithm: string) => string;
  signal?: AbortSignal;
  /** Refuses internal destinations for registries and lookasides (requests made for a tenant). */
  guard?: DestinationGuard;
  /** How the caller turns TLS verification off, for the hint on a plain-HTTP registry. */
  insecureHint?: string;
}

/** c/image's built-in lookaside when registries.d names none: root's and a user's. */
export function defaultLookaside(): string {
  return process.getuid?.() === 0
    ? 'file:///var/lib/containers/sigstore'
    : pathToFileURL(path.join(homedir(), '.local/share/containers/sigstore')).href;
}

/** c/image follows symlinks in dir:/oci: paths; a path that does not exist yet stays as resolved. */
function resolveExistingPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load();
    return value;
  };
}

/** Splits stored signatures into the two lists the policy reads. */
function byFormat(stored: StoredSignature[]): { simple: Buffer[]; sigstore: SigstoreSignature[] } {
  const simple: Buffer[] = [];
  const sigstore: SigstoreSignature[] = [];
  for (const signature of stored) {
    if (signature.format === 'simple-signing') simple.push(signature.signature);
    else
      sigstore.push({
        mimeType: signature.mimeType,
        payload: signature.payload,
        annotations: signature.annotations,
      });
  }
  return { simple, sigstore };
}

function openDockerImage(reference: ImageReference, options: OpenPolicyImageOptions): PolicyImageSource {
  const ref = reference.dockerReference!;
  const client = new RegistryClient(ref.domain, {
    tlsVerify: options.tlsVerify,
    certDir: options.certDir,
    credentials: options.credentials,
    manifestDigest: options.manifestDigest,
    signal: options.signal,
    guard: options.guard,
    insecureHint: options.insecureHint,
  });
  // Resolved now, so a bad registries.d entry fails opening the image instead of reading like a rejection.
  const storage: SignatureStorage = options.signatureStorage?.(ref) ?? {
    lookaside: lookasideAt(defaultLookaside(), ref.path),
    useSigstoreAttachments: false,
  };
  const manifest = once(() => client.getManifest(ref.path, ref.digest ?? ref.tag!));
  const digestFn = options.manifestDigest ?? digestOf;
  const signatures = once(async () => {
    // Signatures are keyed by the reference's sha256 digest when it has one, else by the fetched manifest's.
    const digest = ref.digest?.startsWith('sha256:')
      ? ref.digest
      : digestFn((await manifest()).bytes, 'sha256');
    const stored = storage.lookaside
      ? await readLookasideSignatures(storage.lookaside, digest, {
          tlsVerify: options.tlsVerify,
          signal: options.signal,
          guard: options.guard,
        })
      : [];
    const { simple, sigstore } = byFormat(stored);
    if (storage.useSigstoreAttachments)
      sigstore.push(...(await readSigstoreAttachments(client, ref.path, digest)));
    return { simple, sigstore };
  });
  return {
    reference,
    manifest: async () => {
      const { bytes, mimeType } = await manifest();
      return { bytes, mimeType };
    },
    simpleSignatures: async () => (await signatures()).simple,
    sigstoreSignatures: async () => (await signatures()).sigstore,
  };
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ImageTrustError('INTERNAL', `reading ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function openDirImage(reference: ImageReference): PolicyImageSource {
  const dir = reference.policyIdentity;
  const manifest = once(async () => {
    const bytes = await readOrNull(path.join(dir, 'manifest.json'));
    if (bytes === null)
      throw new NotFoundError(
        `reading manifest: open ${path.join(dir, 'manifest.json')}: no such file or directory`,
      );
    return { bytes, mimeType: guessManifestMimeType(bytes) };
  });
  const signatures = once(async () => {
    const stored: StoredSignature[] = [];
    for (let index = 1; ; index++) {
      const file = path.join(dir, `signature-${index}`);
      const blob = await readOrNull(file);
      if (blob === null) break;
      try {
        stored.push(parseStoredSignature(blob));
      } catch (error) {
        throw new ImageTrustError(
          'BAD_REQUEST',
          `parsing signature ${JSON.stringify(file)}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
    return byFormat(stored);
  });
  return {
    reference,
    manifest,
    simpleSignatures: async () => (await signatures()).simple,
    sigstoreSignatures: async () => (await signatures()).sigstore,
  };
}

interface OciDescriptor {
  mediaType?: string;
  digest?: string;
  annotations?: Record<string, string>;
}

function openOciImage(reference: ImageReference): PolicyImageSource {
  const dir = reference.policyIdentity;
  const image = reference.withinTransport.slice(reference.withinTransport.lastIndexOf(':') + 1);
  const manifest = once(async () => {
    const indexBytes = await readOrNull(path.join(dir, 'index.json'));
    if (indexBytes === null)
      throw new NotFoundError(`open ${path.join(dir, 'index.json')}: no such file or directory`);
    const index = JSON.parse(indexBytes.toString('utf8')) as { manifests?: OciDescriptor[] };
    const manifests = index.manifests ?? [];
    let descriptor: OciDescriptor | undefined;
    if (image === '') {
      if (manifests.length !== 1)
        throw new ImageTrustError('BAD_REQUEST', 'more than one image in oci, choose an image');
      descriptor = manifests[0];
    } else {
      descriptor = manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === image);
      if (!descriptor) throw new NotFoundError(`no descriptor found for reference ${JSON.stringify(image)}`);
    }
    const digest = String(descriptor.digest ?? '');
    if (!/^sha(256|384|512):[a-f0-9]+$/.test(digest))
      throw new ImageTrustError('BAD_REQUEST', `invalid digest ${JSON.stringify(digest)}`);
    const [algorithm, hex] = digest.split(':');
    const bytes = await readOrNull(path.join(dir, 'blobs', algorithm, hex));
    if (bytes === null) throw new NotFoundError(`manifest blob ${digest} is missing from ${dir}`);
    if (digestOf(bytes, algorithm) !== digest) {
      throw new ImageTrustError('BAD_REQUEST', `Manifest does not match provided manifest digest ${digest}`);
    }
    return { bytes, mimeType: descriptor.mediaType || guessManifestMimeType(bytes) };
  });
  // c/image 5.23's oci: layout stores no signatures.
  return { reference, manifest, simpleSignatures: async () => [], sigstoreSignatures: async () => [] };
}

/** Parses an image name and opens it for policy evaluation; nothing is fetched until asked for. */
export function openPolicyImage(imageName: string, options: OpenPolicyImageOptions = {}): PolicyImageSource {
  const reference = parseImageName(imageName, { resolvePath: resolveExistingPath });
  switch (reference.transport) {
    case 'docker':
      return openDockerImage(reference, options);
    case 'dir':
      return openDirImage(reference);
    case 'oci':
      return openOciImage(reference);
    default:
      throw new PolicyError(
        'REFERENCE_INVALID',
        `Reading images over the ${reference.transport} transport is not supported; use docker://, dir: or oci:`,
      );
  }
}
