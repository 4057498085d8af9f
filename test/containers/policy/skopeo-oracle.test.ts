// The reference implementation is the oracle: for each policy.json below, our parser must accept
// exactly when skopeo (Debian, c/image 5.23) does, and otherwise print the same message.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePolicy } from '../../../src/containers/policy/index.ts';
import { requireTool } from '../../support/tools.ts';

const R = '{"type":"reject"}';
const signedBy = (fields: string) => `{"default":[{"type":"signedBy",${fields}}]}`;
const POLICIES = [
  `{"default":[${R}]}`,
  `{"default":[${R}],}`,
  `{"default":[${R}]}{}`,
  `{"default":[${R}`,
  '{}',
  '[]',
  'null',
  '1000000',
  '"text"',
  `{"default":[${R}],"default":[${R}]}`,
  `{"default":[${R}],"x":1}`,
  '{"default":[]}',
  '{"default":null}',
  '{"default":{}}',
  '{"default":["reject"]}',
  '{"default":[{}]}',
  '{"default":[{"TYPE":"reject"}]}',
  `{"default":[${R}],"transports":{"dir":{"rel":[${R}]}}}`,
  `{"default":[${R}],"transports":{"dir":{"/a/":[${R}]}}}`,
  `{"default":[${R}],"transports":{"docker-archive":{"/a.tar":[${R}]}}}`,
  `{"default":[${R}],"transports":{"nosuch":{"anything":[${R}]}}}`,
  `{"default":[${R}],"transports":{"atomic":{"host/ns/stream:tag/extra":[${R}]}}}`,
  `{"default":[${R}],"transports":{"docker":{"*.example.com":[${R}],"":[${R}]}}}`,
  `{"default":[${R}],"transports":{"docker":null}}`,
  signedBy('"keyType":"GPGKeys"'),
  signedBy('"keyType":"GPGKeys","keyPath":"/a","keyData":"YQ=="'),
  signedBy('"keyType":"GPGKeys","keyPath":""'),
  signedBy('"keyPath":"/a"'),
  signedBy('"keyType":"RSA","keyPath":"/a"'),
  signedBy('"keyType":"GPGKeys","keyData":"YWJj=A=="'),
  signedBy('"keyType":"GPGKeys","keyData":"YQ="'),
  signedBy('"keyType":"GPGKeys","keyPath":"/a","signedIdentity":null'),
  signedBy(
    '"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"exactReference","dockerReference":"busybox"}',
  ),
  signedBy(
    '"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"exactReference","dockerReference":"UP:v1"}',
  ),
  signedBy(
    '"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"exactRepository","dockerRepository":"a b"}',
  ),
  signedBy(
    '"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"remapIdentity","prefix":"example.com/"}',
  ),
  signedBy(
    '"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"remapIdentity","prefix":"example.com/","signedPrefix":"x.com"}',
  ),
  signedBy('"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"matchExact","x":1}'),
  // Values are decoded as their keys are reached, so a bad value reports before a later unknown key.
  '{"default":[],"foo":1}',
  '{"foo":1,"default":[]}',
  `{"default":[${R}],"transports":{"docker":{"a":[]}},"x":1}`,
  `{"default":[{"type":"reject","x":1}],"default":[]}`,
  `{"default":[${R}],"transports":{"docker":{"a":[],"a":[]}}}`,
  signedBy('"keyType":"GPGKeys","keyPath":"/a","keyData":"!","x":1'),
  signedBy('"keyType":"GPGKeys","keyPath":"/a","x":1,"keyData":"!"'),
  signedBy('"keyType":"bad","x":1'),
  signedBy('"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"bogus"},"x":1'),
  signedBy(
    '"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":"exactReference","dockerReference":1,"x":1}',
  ),
  // A `type` that is not a string names Go's identifier types.
  '{"default":[{"type":1}]}',
  '{"default":[{"Type":[1]}]}',
  signedBy('"keyType":"GPGKeys","keyPath":"/a","signedIdentity":{"type":true}'),
  '{"default":[{"type":"signedBaseLayer"}]}',
  '{"default":[{"type":"signedBaseLayer","baseLayerIdentity":{"type":"matchRepository"}}]}',
];

function skopeoVerdict(policyFile: string, work: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'skopeo',
      [
        '--policy',
        policyFile,
        'copy',
        `dir:${path.join(work, 'missing-image')}`,
        `dir:${path.join(work, 'out')}`,
      ],
      (_error, _stdout, stderr) => {
        const match = /msg="Error loading trust policy: invalid policy in \\".*?\\": (.*)"\n?$/.exec(stderr);
        resolve(match ? JSON.parse(`"${match[1]}"`) : 'OK');
      },
    );
  });
}

function ourVerdict(text: string): string {
  try {
    parsePolicy(text);
    return 'OK';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('parsePolicy against skopeo', () => {
  let work: string;
  before(() => {
    requireTool('skopeo', 'skopeo');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-oracle-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('accepts and rejects as skopeo does, with the same messages', async () => {
    for (const [index, text] of POLICIES.entries()) {
      const file = path.join(work, `policy-${index}.json`);
      writeFileSync(file, text);
      const expected = await skopeoVerdict(file, work);
      assert.equal(ourVerdict(text), expected, text);
    }
  });
});
