// `imagetrust sign`: the OpenStack guide's signing steps in one command. Signs the file as
// `openssl dgst -<hash> -sign KEY -sigopt rsa_padding_mode:pss | base64 -w 0` would, and optionally
// stores the certificate in the key manager and creates and uploads the image with the four properties.
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import type { AuthFlags } from '../client/index.ts';
import { ImageApi, type ImageView, SecretApi } from '../client/index.ts';
import { ImageTrustError, ValidationError } from '../errors/index.ts';
import { SIGNATURE_PROPERTY_NAMES, signingOptionsFor } from '../trust/index.ts';
import { connect } from './connect.ts';
import { printResult } from './output.ts';
import { createProgress } from './progress.ts';

export interface SignFlags extends AuthFlags {
  key: string;
  passphraseFile?: string;
  hashMethod: string;
  keyType?: string;
  cert?: string;
  certId?: string;
  upload?: boolean;
  name?: string;
  diskFormat?: string;
  containerFormat: string;
  property?: string[];
  visibility?: string;
  format?: string;
}

function readKey(flags: SignFlags): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(flags.key);
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_UNREADABLE',
      `Cannot read the private key ${flags.key}: ${(error as Error).message}`,
    );
  }
  const passphrase = flags.passphraseFile
    ? readFileSync(flags.passphraseFile, 'utf8').split(/\r?\n/)[0]
    : undefined;
  try {
    return createPrivateKey({ key: pem, passphrase });
  } catch (error) {
    throw new ImageTrustError(
      'INPUT_INVALID',
      `${flags.key} is not a usable private key${passphrase ? '' : ' (encrypted? give --passphrase-file)'}: ${(error as Error).message}`,
    );
  }
}

/** qcow2, vmdk, vhd and iso announce themselves; anything else is uploaded as raw. */
async function guessDiskFormat(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(0x8006);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const at = (offset: number, text: string) =>
      bytesRead >= offset + text.length && head.toString('latin1', offset, offset + text.length) === text;
    if (at(0, 'QFI\xfb')) return 'qcow2';
    if (at(0, 'KDMV') || at(0, '# Disk DescriptorFile')) return 'vmdk';
    if (at(0, 'conectix')) return 'vhd';
    if (at(0, 'vhdxfile')) return 'vhdx';
    if (at(0x8001, 'CD001')) return 'iso';
    return 'raw';
  } finally {
    await handle.close();
  }
}

export interface SignOutcome {
  signature: string;
  certificateId?: string;
  properties?: Record<string, string>;
  /** The created and uploaded image, with --upload. */
  image?: ImageView;
}

/**
 * Signs the file in one pass and, as the flags ask, stores the certificate and creates and uploads the
 * image with the four signature properties. Prints nothing on stdout; `runSign` and `build` render it.
 */
export async function signAndUpload(image: string, flags: SignFlags): Promise<SignOutcome> {
  const key = readKey(flags);
  const options = signingOptionsFor(key, flags.hashMethod, flags.keyType);
  const info = await stat(image).catch(() => {
    throw new ImageTrustError('INPUT_UNREADABLE', `Cannot read image file ${image}.`);
  });
  if (flags.cert && flags.certId)
    throw new ValidationError('BAD_REQUEST', 'Give --cert or --cert-id, not both.');
  if (flags.upload && !flags.name) throw new ValidationError('BAD_REQUEST', '--upload needs --name.');
  if (flags.upload && !flags.cert && !flags.certId) {
    throw new ValidationError(
      'BAD_REQUEST',
      '--upload needs the certificate: --cert FILE to store it, or --cert-id UUID.',
    );
  }

  // One pass over the file computes the signature (the hash is inside node:crypto's Sign).
  const signer = createSign(options.algorithm);
  const progress = createProgress(`sign ${path.basename(image)}`, info.size);
  let done = 0;
  for await (const chunk of createReadStream(image, { highWaterMark: 4 << 20 })) {
    signer.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    progress.update(done);
  }
  progress.stop();
  const signature = signer
    .sign({ key, padding: options.padding, saltLength: options.saltLength, dsaEncoding: 'der' })
    .toString('base64');
  if (!flags.cert && !flags.certId && !flags.upload) return { signature };

  const session = await connect(flags);
  let certificateId = flags.certId;
  if (flags.cert) {
    const pem = readFileSync(flags.cert);
    certificateId = await new SecretApi(session).storeCertificate(
      pem,
      `${path.basename(flags.cert)} (image signing)`,
    );
    process.stderr.write(`Stored certificate ${flags.cert} in the key manager as ${certificateId}.\n`);
  }
  const properties: Record<string, string> = {
    [SIGNATURE_PROPERTY_NAMES.signature]: signature,
    [SIGNATURE_PROPERTY_NAMES.hashMethod]: options.hashMethod,
    [SIGNATURE_PROPERTY_NAMES.keyType]: options.keyType,
    [SIGNATURE_PROPERTY_NAMES.certificateUuid]: certificateId!,
  };
  if (!flags.upload) return { signature, certificateId, properties };

  for (const entry of flags.property ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ValidationError('BAD_REQUEST', `--property takes KEY=VALUE, got '${entry}'.`);
    properties[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const images = new ImageApi(session);
  const created = await images.createImage({
    name: flags.name,
    disk_format: flags.diskFormat ?? (await guessDiskFormat(image)),
    container_format: flags.containerFormat,
    ...(flags.visibility ? { visibility: flags.visibility } : {}),
    ...properties,
  });
  const uploading = createProgress(`upload ${flags.name}`, info.size);
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      uploading.update(sent);
      callback(null, chunk);
    },
  });
  try {
    await images.uploadImage(
      created.id,
      createReadStream(image, { highWaterMark: 1 << 20 }).pipe(counter),
      info.size,
    );
  } catch (error) {
    uploading.stop();
    if (error instanceof ImageTrustError) {
      throw new ImageTrustError(error.code, `${error.message} (image ${created.id} is left queued)`, {
        cause: error,
      });
    }
    throw error;
  }
  uploading.stop();
  return { signature, certificateId, properties, image: await images.getImage(created.id) };
}

export async function runSign(image: string, flags: SignFlags): Promise<void> {
  const { signature, certificateId, properties, image: shown } = await signAndUpload(image, flags);
  if (!properties) {
    // `base64 -w 0` prints no newline; add one only for a person at a terminal.
    process.stdout.write(process.stdout.isTTY ? `${signature}\n` : signature);
    return;
  }
  if (!shown) {
    const result = { signature, certificateId, properties };
    printResult(result, flags, {
      text: () =>
        process.stdout.write(
          `${Object.entries(properties)
            .map(([k, v]) => `--property ${k}=${v}`)
            .join(' ')}\n`,
        ),
    });
    return;
  }
  printResult(shown, flags, {
    text: () =>
      process.stdout.write(
        `Image ${shown.id} (${shown.name}) is ${shown.status}, signed with certificate ${certificateId}.\n`,
      ),
  });
}
