// Manifests the signing tests share: a docker v2s2 and an OCI manifest with real-looking digests, and a
// docker schema1 manifest signed with a JWS in libtrust's "pretty signature" layout, made here from scratch.
import { generateKeyPairSync, sign } from 'node:crypto';

export const DOCKER_V2S2_MANIFEST = `{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 772788,
         "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
      }
   ]
}`;

export const OCI_MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    size: 581,
    digest: 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741',
  },
  layers: [
    {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      size: 2811321,
      digest: 'sha256:c6a83fedfae6ed8a4f5f7cbb6a7b6f1c1ec3d86fea8cb9e5ba2e5e6f8c5aa2f1',
    },
  ],
});

/** The unsigned schema1 payload, 3-space indented as docker wrote them. */
export const SCHEMA1_PAYLOAD = JSON.stringify(
  {
    schemaVersion: 1,
    name: 'ns/app',
    tag: 'v1',
    architecture: 'amd64',
    fsLayers: [{ blobSum: 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4' }],
    history: [
      { v1Compatibility: '{"id":"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5"}' },
    ],
  },
  null,
  3,
);

/**
 * Signs a schema1 payload as libtrust's NewJSONSignature + PrettySignature do: the protected header records
 * where the payload's closing part was cut (formatLength) and what it was (formatTail).
 */
export function signSchema1Manifest(payload: string, signatures = 1): string {
  const bytes = Buffer.from(payload, 'utf8');
  const closeIndex = payload.trimEnd().length - 1;
  const formatLength = payload.slice(0, closeIndex).trimEnd().length;
  const formatTail = bytes.subarray(formatLength);
  const blocks = [];
  for (let index = 0; index < signatures; index++) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const protectedHeader = Buffer.from(
      JSON.stringify({
        formatLength,
        formatTail: formatTail.toString('base64url'),
        time: '2026-11-22T21:00:00Z',
      }),
    ).toString('base64url');
    const signingInput = `${protectedHeader}.${bytes.toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(signingInput), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    blocks.push({
      header: { alg: 'ES256' },
      signature: signature.toString('base64url'),
      protected: protectedHeader,
    });
  }
  return `${payload.slice(0, formatLength)},\n   "signatures": ${JSON.stringify(blocks, null, 3).replace(/\n/g, '\n   ')}\n}`;
}
