// The NoCloud seed of a run: a FAT volume labelled `cidata` holding meta-data with an instance id and a
// fresh ED25519 public key, made with mkfs.vfat and mcopy (no mounting). The private key stays in the
// run directory (0600) and goes with it.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { runChecked } from './processes.ts';

/** NoCloud meta-data: the instance id and the run's public key, nothing else. */
export function seedMetaData(instanceId: string, publicKey: string): string {
  return `instance-id: ${instanceId}\nlocal-hostname: imagetrust-boot\npublic-keys:\n  - ${JSON.stringify(publicKey.trim())}\n`;
}

export interface Seed {
  image: string;
  privateKey: string;
}

export async function createSeed(runDir: string, instanceId: string): Promise<Seed> {
  const privateKey = `${runDir}/id_ed25519`;
  await runChecked([
    'ssh-keygen',
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    `imagetrust-boot@${instanceId}`,
    '-f',
    privateKey,
  ]);
  await chmod(privateKey, 0o600);
  const publicKey = await readFile(`${privateKey}.pub`, 'utf8');
  const metaData = `${runDir}/meta-data`;
  const userData = `${runDir}/user-data`;
  await writeFile(metaData, seedMetaData(instanceId, publicKey));
  // NoCloud requires a user-data file to exist; an empty one asks for nothing.
  await writeFile(userData, '');
  const image = `${runDir}/seed.img`;
  await runChecked(['mkfs.vfat', '-n', 'cidata', '-C', image, '2048']);
  await runChecked(['mcopy', '-i', image, metaData, userData, '::']);
  return { image, privateKey };
}
