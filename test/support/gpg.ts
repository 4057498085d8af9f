// Makes an OpenPGP signing key with the real gpg in a test's own GNUPGHOME and returns its fingerprint.
import { runOk } from './tools.ts';

/** An unprotected ed25519 signing key `<name> <name@example.com>`, valid for a day. */
export async function makeGpgKey(name: string, gpgEnv: Record<string, string>): Promise<string> {
  await runOk(
    'gpg',
    [
      '--batch',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-generate-key',
      `${name} <${name}@example.com>`,
      'ed25519',
      'sign',
      '1d',
    ],
    gpgEnv,
  );
  const listing = await runOk('gpg', ['--with-colons', '--list-keys', `${name}@example.com`], gpgEnv);
  return /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
}
