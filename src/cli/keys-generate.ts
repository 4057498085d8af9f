// `imagetrust keys generate`: a signing key and its certificate, for people without a PKI. Without
// --ca-key the certificate is a self-signed CA (CA:true, keyCertSign), so it can also be named in
// trust.trustedCertificateIds; with --ca-key/--ca-cert it is a leaf issued by that CA.
import { existsSync, readFileSync } from 'node:fs';
import { ValidationError } from '../errors/index.ts';
import { generateSigningIdentity, SIGNING_CURVES, type SigningCurve } from '../trust/index.ts';
import { writeOutputFile } from './output-file.ts';

interface GenerateFlags {
  type: string;
  bits?: string;
  curve?: string;
  cn: string;
  days: string;
  outKey: string;
  outCert: string;
  caKey?: string;
  caCert?: string;
  ca?: boolean;
  force?: boolean;
}

/** Key type strings as Glance names them, and the generator each maps to. */
const TYPES: Record<string, { keyType: 'rsa' | 'dsa' | 'ec'; curve?: SigningCurve }> = {
  'RSA-PSS': { keyType: 'rsa' },
  DSA: { keyType: 'dsa' },
  ...Object.fromEntries(
    SIGNING_CURVES.map((curve) => [`ECC_${curve.toUpperCase()}`, { keyType: 'ec' as const, curve }]),
  ),
};

export async function runKeysGenerate(flags: GenerateFlags): Promise<void> {
  const type = TYPES[flags.type];
  if (!type) {
    throw new ValidationError(
      'BAD_REQUEST',
      `Unknown key type '${flags.type}': use one of ${Object.keys(TYPES).join(', ')}.`,
    );
  }
  const days = Number(flags.days);
  if (!Number.isInteger(days) || days <= 0)
    throw new ValidationError('BAD_REQUEST', '--days must be a positive integer.');
  if (Boolean(flags.caKey) !== Boolean(flags.caCert)) {
    throw new ValidationError('BAD_REQUEST', '--ca-key and --ca-cert go together.');
  }
  for (const file of [flags.outKey, flags.outCert]) {
    if (existsSync(file) && !flags.force) {
      throw new ValidationError('BAD_REQUEST', `${file} exists; pass --force to overwrite it.`);
    }
  }
  const identity = await generateSigningIdentity({
    keyType: type.keyType,
    curve: type.curve,
    bits: flags.bits ? Number(flags.bits) : undefined,
    commonName: flags.cn,
    days,
    now: new Date(),
    issuer: flags.caKey
      ? {
          privateKeyPem: readFileSync(flags.caKey, 'utf8'),
          certificatePem: readFileSync(flags.caCert!, 'utf8'),
        }
      : undefined,
    // Self-signed identities are CAs so a trust store can hold them; issued ones are leaves unless asked.
    ca: !flags.caKey || flags.ca ? {} : undefined,
  });
  // Whole files, in one rename each: --force over a file other users could read still leaves the key 0600.
  await writeOutputFile(flags.outKey, identity.privateKeyPem, { mode: 0o600 });
  await writeOutputFile(flags.outCert, identity.certificatePem);
  process.stderr.write(
    `Wrote ${flags.outKey} (private, mode 600) and ${flags.outCert}; sign with --key-type ${identity.signatureKeyType}.\n`,
  );
}
