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

  it('matches keys case-insensitively and reads YAML 1.1 booleans, as sigs.k8s.io/yaml and encoding/json do', () => {
    const parsed = mergeRegistriesFiles([
      file(
        'a.yaml',
        `Default-Docker:
  Lookaside: file:///upper
  use-sigstore-attachments: yes
DOCKER:
  quay.io:
    LOOKASIDE: file:///quay
    \u017figstore-staging: file:///long-s
    Use-Sigstore-Attachments: on
`,
      ),
    ]);
    assert.equal(parsed.defaultDocker?.lookaside, 'file:///upper');
    assert.equal(parsed.defaultDocker?.useSigstoreAttachments, true);
    const quay = parsed.docker.get('quay.io');
    assert.equal(quay?.lookaside, 'file:///quay');
    assert.equal(quay?.sigstoreStaging, 'file:///long-s');
    assert.equal(quay?.useSigstoreAttachments, true);
  });

  it('lets the key that sorts last win when two spell the same field (JSON keys are written sorted)', () => {
    const parsed = mergeRegistriesFiles([
      file(
        'a.yaml',
        `default-docker:
  lookaside: file:///lower
  LOOKASIDE: file:///upper
  Lookaside: file:///title
docker:
  quay.io: {lookaside: file:///lower}
Docker:
  quay.io: {use-sigstore-attachments: true}
  ghcr.io: {lookaside: file:///ghcr}
`,
      ),
    ]);
    assert.equal(parsed.defaultDocker?.lookaside, 'file:///lower');
    assert.deepEqual(
      [...parsed.docker].map(([scope, section]) => [scope, section.lookaside]),
      [
        ['ghcr.io', 'file:///ghcr'],
        ['quay.io', 'file:///lower'],
      ],
    );
  });

  it("reports encoding/json's first type error in sorted key order, as skopeo prints it", () => {
    const prefix =
      'parsing /etc/containers/registries.d/a.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal';
    const cases: [string, string][] = [
      [
        'default-docker:\n  use-sigstore-attachments: "yes"\n',
        'string into Go struct field registryNamespace.default-docker.use-sigstore-attachments of type bool',
      ],
      [
        'default-docker:\n  use-sigstore-attachments: 1\n',
        'number into Go struct field registryNamespace.default-docker.use-sigstore-attachments of type bool',
      ],
      [
        'default-docker:\n  lookaside: [a]\n  Sigstore: [b]\n',
        'array into Go struct field registryNamespace.default-docker.sigstore of type string',
      ],
      [
        'docker:\n  x:\n    Lookaside: {a: 1}\n',
        'object into Go struct field registryNamespace.docker.lookaside of type string',
      ],
      [
        'default-docker: 5\n',
        'number into Go struct field registryConfiguration.default-docker of type docker.registryNamespace',
      ],
      [
        'docker: 5\n',
        'number into Go struct field registryConfiguration.docker of type map[string]docker.registryNamespace',
      ],
      [
        'docker:\n  x: abc\n',
        'string into Go struct field registryConfiguration.docker of type docker.registryNamespace',
      ],
      ['[1]\n', 'array into Go value of type docker.registryConfiguration'],
    ];
    for (const [text, message] of cases) {
      rejectsWith(() => mergeRegistriesFiles([file('a.yaml', text)]), `${prefix} ${message}`);
    }
  });

  it('keeps timestamps and sexagesimal numbers as text, as go-yaml v2 does', () => {
    const parsed = mergeRegistriesFiles([
      file(
        'a.yaml',
        'docker:\n  a: {lookaside: 2001-12-14}\n  b: {lookaside: 1:20}\n  c: {lookaside: 0777}\n',
      ),
    ]);
    assert.deepEqual(
      [...parsed.docker.values()].map((section) => section.lookaside),
      ['2001-12-14', '1:20', '511'],
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
