// A build's facts and keys for the provenance tests: made here, so anyone can re-make them.
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { BuildProvenanceInput } from '../../../src/pipeline/provenance/index.ts';

export const IMAGE_BYTES = Buffer.from('a Debian 12 image, or bytes standing in for one');
export const IMAGE_SHA512 = createHash('sha512').update(IMAGE_BYTES).digest('hex');
export const IMAGE_SHA256 = createHash('sha256').update(IMAGE_BYTES).digest('hex');

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function buildInput(overrides: Partial<BuildProvenanceInput> = {}): BuildProvenanceInput {
  return {
    image: { name: 'debian-12-amd64.qcow2', sha512: IMAGE_SHA512, sha256: IMAGE_SHA256 },
    template: { name: 'debian-12.tdl', sha256: sha256('<template/>') },
    suite: 'bookworm',
    mirror: 'https://deb.debian.org/debian',
    mirrorRelease: {
      uri: 'https://deb.debian.org/debian/dists/bookworm/InRelease',
      sha256: sha256('InRelease'),
    },
    packages: [
      { name: 'base-files', version: '12.4+deb12u5', digest: { sha256: sha256('base-files') } },
      { name: 'systemd', version: '252.22-1~deb12u1' },
      { name: 'perl', version: '5.36.0-7+deb12u1', arch: 'amd64' },
    ],
    toolVersions: { debootstrap: '1.0.128', 'qemu-img': '7.2.9', imagetrust: '0.1.0' },
    stageCacheKeys: { bootstrap: sha256('stage-1'), sysprep: sha256('stage-2') },
    builder: { id: 'https://imagetrust.dev/builders/ci/v1', version: { imagetrust: '0.1.0' } },
    invocationId: 'build-42',
    startedOn: new Date('2026-11-30T10:00:00.123Z'),
    finishedOn: new Date('2026-11-30T10:21:07Z'),
    byproducts: {
      scanReport: { name: 'scan-report.json', sha256: sha256('scan') },
      rawImage: { name: 'debian-12-amd64.raw', digest: { sha256: sha256('raw') } },
    },
    ...overrides,
  };
}

export const ed25519 = () => generateKeyPairSync('ed25519');
export const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
