// registries.d is read as c/image reads it: .yaml files merged, duplicate sections refused, unknown keys
// ignored, lookaside chosen by policy scope order with fall-through, and signature URLs laid out as
// `<base>/<repo>@sha256=<hex>/signature-N`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseNormalizedDockerReference, withDefaultTag } from '../../../src/containers/reference/index.ts';
import {
  builtinLookaside,
  configuredLookaside,
  lookasideRepositoryURL,
  lookasideSignatureURL,
  mergeRegistriesFiles,
  readRegistriesDir,
  usesSigstoreAttachments,
} from '../../../src/containers/registries-d/index.ts';
import { PolicyError } from '../../../src/errors/index.ts';

const HEX = '2683'.padEnd(60, '0') + '597c';
const ref = (s: string) => withDefaultTag(parseNormalizedDockerReference(s));
const file = (name: string, text: string) => ({ path: `/etc/containers/registries.d/${name}`, text });

function rejectsWith(fn: () => unknown, message: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PolicyError, String(error));
    assert.equal(error.code, 'POLICY_INVALID');
    assert.equal(error.message, message);
    return true;
  });
}

describe('registries.d', () => {
  const config = mergeRegistriesFiles([
    file(
      'a.yaml',
      `default-docker:
  lookaside: file:///var/lib/lookaside
  unknown-key: ignored
docker:
  reg.example.com:5000:
    lookaside: http://127.0.0.1:5124
  reg.example.com:5000/ns:
    use-sigstore-attachments: true
  reg.example.com:5000/ns/staged:
    lookaside-staging: file:///staging
    sigstore: https://legacy.example.com/sigs
`,
    ),
    file(
      'b.yaml',
      `docker:
  "*.example.com":
    sigstore: https://wild.example.com/sigs
    sigstore-staging: file:///legacy-staging
    use-sigstore-attachments: false
`,
    ),
    file('ignored.yml', 'default-docker: {lookaside: "file:///never"}'),
  ]);

  it('falls through sections that lack the needed URL, most specific first', () => {
    assert.equal(configuredLookaside(config, ref('reg.example.com:5000/ns/app:v1')), 'http://127.0.0.1:5124');
    assert.equal(configuredLookaside(config, ref('reg.example.com/app:v1')), 'https://wild.example.com/sigs');
    assert.equal(configuredLookaside(config, ref('busybox')), 'file:///var/lib/lookaside');
    assert.equal(configuredLookaside(mergeRegistriesFiles([]), ref('busybox')), undefined);
  });

  it('prefers lookaside over sigstore and staging keys for writing only', () => {
    const staged = ref('reg.example.com:5000/ns/staged:v1');
    assert.equal(configuredLookaside(config, staged), 'https://legacy.example.com/sigs');
    assert.equal(configuredLookaside(config, staged, true), 'file:///staging');
    assert.equal(configuredLookaside(config, ref('reg.example.com/app:v1'), true), 'file:///legacy-staging');
    assert.equal(
      configuredLookaside(config, ref('reg.example.com:5000/app:v1'), true),
      'http://127.0.0.1:5124',
    );
  });

  it('resolves use-sigstore-attachments with the same fall-through, defaulting to false', () => {
    assert.equal(usesSigstoreAttachments(config, ref('reg.example.com:5000/ns/app:v1')), true);
    assert.equal(usesSigstoreAttachments(config, ref('reg.example.com:5000/other:v1')), false);
    assert.equal(usesSigstoreAttachments(config, ref('sub.example.com/x:v1')), false);
    assert.equal(usesSigstoreAttachments(config, ref('busybox')), false);
  });

  it('lays out signature URLs under the repository path without the host', () => {
    const repository = lookasideRepositoryURL(config, ref('127.0.0.1:5123/signed/app:v1'), {
      fallback: 'file:///unused',
    });
    assert.equal(
      lookasideSignatureURL(repository, `sha256:${HEX}`, 0).href,
      `file:///var/lib/lookaside/signed/app@sha256=${HEX}/signature-1`,
    );
    const remote = lookasideRepositoryURL(config, ref('reg.example.com:5000/signed/app:v1'), {
      fallback: '',
    });
    assert.equal(
      lookasideSignatureURL(remote, `sha256:${HEX}`, 1).href,
      `http://127.0.0.1:5124/signed/app@sha256=${HEX}/signature-2`,
    );
    const hub = lookasideRepositoryURL(mergeRegistriesFiles([]), ref('busybox'), {
      fallback: builtinLookaside({ euid: 0, home: '/root' }),
    });
    assert.equal(hub.href, 'file:///var/lib/containers/sigstore/library/busybox');
    assert.equal(
      builtinLookaside({ euid: 1000, home: '/home/u' }),
      'file:///home/u/.local/share/containers/sigstore',
    );
    assert.throws(() => lookasideSignatureURL(hub, 'sha256:abc', 0), { code: 'REFERENCE_INVALID' });
  });

  it('refuses a section defined in two files', () => {
    rejectsWith(
      () =>
        mergeRegistriesFiles([
          file('a.yaml', 'default-docker: {lookaside: "file:///a"}'),
          file('b.yaml', 'default-docker: {}'),
        ]),
      'Error parsing signature storage configuration: "default-docker" defined both in "/etc/containers/registries.d/a.yaml" and "/etc/containers/registries.d/b.yaml"',
    );
    rejectsWith(
      () =>
        mergeRegistriesFiles([
          file('a.yaml', 'docker: {quay.io: {lookaside: "file:///a"}}'),
          file('b.yaml', 'docker: {quay.io: {lookaside: "file:///b"}}'),
        ]),
      'Error parsing signature storage configuration: "docker" namespace "quay.io" defined both in "/etc/containers/registries.d/a.yaml" and "/etc/containers/registries.d/b.yaml"',
    );
  });

  it('names the file of invalid YAML', () => {
    assert.throws(
      () => mergeRegistriesFiles([file('bad.yaml', 'docker:\n  quay.io: [unclosed\n')]),
      (error: PolicyError) => {
        assert.equal(error.code, 'POLICY_INVALID');
        assert.match(
          error.message,
          /^parsing \/etc\/containers\/registries\.d\/bad\.yaml: error converting YAML to JSON: yaml: line \d+: /,
        );
        return true;
      },
    );
  });

  it('rejects URLs Go cannot use', () => {
    const broken = mergeRegistriesFiles([
      file('a.yaml', 'docker:\n  quay.io:\n    lookaside: ":emptyscheme"\n'),
    ]);
    rejectsWith(
      () => lookasideRepositoryURL(broken, ref('quay.io/app:v1'), { fallback: '' }),
      'Invalid signature storage URL :emptyscheme: parse ":emptyscheme": missing protocol scheme',
    );
  });

  describe('readRegistriesDir', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-regd-'));
      writeFileSync(
        path.join(dir, 'one.yaml'),
        'docker:\n  quay.io:\n    lookaside: https://sigs.example.com\n',
      );
      writeFileSync(path.join(dir, 'two.yml'), 'default-docker:\n  lookaside: file:///never\n');
      writeFileSync(path.join(dir, 'empty.yaml'), '');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('reads only .yaml files and treats a missing directory as empty', async () => {
      const loaded = await readRegistriesDir(dir);
      assert.deepEqual([...loaded.docker.keys()], ['quay.io']);
      assert.equal(loaded.defaultDocker, undefined);
      const missing = await readRegistriesDir(path.join(dir, 'nope'));
      assert.equal(missing.docker.size, 0);
    });
  });
});
