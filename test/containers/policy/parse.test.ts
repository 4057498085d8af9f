// policy.json is read as strictly as containers/image reads it: what it accepts parses to the same
// model, and each rejection carries c/image's exact text (tools and people compare them) and a position.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicy, parsePolicyDocument } from '../../../src/containers/policy/index.ts';
import { PolicyError } from '../../../src/errors/index.ts';

const ACCEPT = '[{"type":"insecureAcceptAnything"}]';
const withDefault = (transports: string) => `{"default":${ACCEPT},"transports":${transports}}`;
const requirement = (r: string) => `{"default":[${r}]}`;
const identity = (i: string) =>
  requirement(`{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":${i}}`);

function rejectsWith(text: string, message: string) {
  assert.throws(
    () => parsePolicy(text),
    (error: unknown) => {
      assert.ok(error instanceof PolicyError, String(error));
      assert.equal(error.code, 'POLICY_INVALID');
      assert.equal(error.message, message);
      return true;
    },
    text,
  );
}

describe('parsePolicy', () => {
  it('accepts every requirement and identity type', () => {
    const policy = parsePolicy(`{
      "default": [{"type": "reject"}],
      "transports": {
        "docker": {
          "example.com/playground": [{"type": "insecureAcceptAnything"}],
          "example.com/production": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/keys/a"}],
          "example.com/hardened": [
            {"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["/k1", "/k2"], "signedIdentity": {"type": "matchRepository"}},
            {"type": "signedBy", "keyType": "signedByGPGKeys", "keyData": "a2V5", "signedIdentity": {"type": "matchExact"}},
            {"type": "signedBaseLayer", "baseLayerIdentity": {"type": "exactRepository", "dockerRepository": "registry.access.redhat.com/rhel7/rhel"}}
          ],
          "private-mirror:5000/vendor-mirror": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k",
            "signedIdentity": {"type": "remapIdentity", "prefix": "private-mirror:5000/vendor-mirror", "signedPrefix": "vendor.example.com"}}],
          "bogus/key-data-example": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k",
            "signedIdentity": {"type": "exactReference", "dockerReference": "example.com/app:v1"}}],
          "*.redhat.com": [{"type": "sigstoreSigned", "keyPath": "/cosign.pub"}],
          "quay.io/keyless": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca.pem", "oidcIssuer": "https://oidc", "subjectEmail": "a@b"},
            "rekorPublicKeyPath": "/rekor.pub", "signedIdentity": {"type": "matchRepository"}}],
          "quay.io/many": [{"type": "sigstoreSigned", "keyDatas": ["a2V5", "a2V5"]}]
        },
        "dir": {"": [{"type": "insecureAcceptAnything"}], "/var/lib/images": [{"type": "reject"}]},
        "no-such-transport": {"anything at all": [{"type": "reject"}]}
      }
    }`);
    assert.deepEqual(policy.default, [{ type: 'reject' }]);
    const docker = policy.transports.get('docker')!;
    assert.deepEqual(docker.get('example.com/production'), [
      {
        type: 'signedBy',
        keyType: 'GPGKeys',
        keyPath: '/keys/a',
        signedIdentity: { type: 'matchRepoDigestOrExact' },
      },
    ]);
    const hardened = docker.get('example.com/hardened')!;
    assert.deepEqual(hardened[1], {
      type: 'signedBy',
      keyType: 'signedByGPGKeys',
      keyData: Buffer.from('key'),
      signedIdentity: { type: 'matchExact' },
    });
    assert.deepEqual(docker.get('quay.io/keyless')![0], {
      type: 'sigstoreSigned',
      fulcio: { caPath: '/ca.pem', oidcIssuer: 'https://oidc', subjectEmail: 'a@b' },
      rekorPublicKeyPath: '/rekor.pub',
      signedIdentity: { type: 'matchRepository' },
    });
    assert.ok(policy.transports.get('no-such-transport')!.has('anything at all'));
  });

  it('rejects malformed JSON with Go encoding/json texts and a line and column', () => {
    const cases: [string, string][] = [
      ['', 'unexpected end of JSON input'],
      ['{"default": [', 'unexpected end of JSON input'],
      [`${requirement('{"type":"reject"}')}{}`, "invalid character '{' after top-level value"],
      [
        '{"default": [{"type":"reject"}],}',
        "invalid character '}' looking for beginning of object key string",
      ],
      ['{"default" [', "invalid character '[' after object key"],
      ['{"default": [] "x"', "invalid character '\"' after object key:value pair"],
      ['{"default": [1 2]}', "invalid character '2' after array element"],
      ['{"default": tru}', "invalid character '}' in literal true (expecting 'e')"],
      ['{"default": x}', "invalid character 'x' looking for beginning of value"],
      ['{"default": -}', "invalid character '}' in numeric literal"],
      ['{"default": 1.}', "invalid character '}' after decimal point in numeric literal"],
      ['{"default": "a\\q"}', "invalid character 'q' in string escape code"],
      ['{"default": "a\nb"}', "invalid character '\\n' in string literal"],
    ];
    for (const [text, message] of cases) rejectsWith(text, message);
    assert.throws(
      () => parsePolicy('{\n  "default": [\n    {"type": "reject"},\n  ]\n}'),
      (error: PolicyError) => {
        assert.deepEqual(error.position && [error.position.line, error.position.column], [4, 3]);
        return true;
      },
    );
  });

  it('rejects the structural problems of spec §1.1', () => {
    const cases: [string, string][] = [
      ['{}', 'Default policy is missing'],
      ['{"transports": {}}', 'Default policy is missing'],
      ['[]', 'JSON object expected, got "["'],
      ['null', 'JSON object expected, got "%!s(<nil>)"'],
      ['1', 'JSON object expected, got "%!s(float64=1)"'],
      ['1000000', 'JSON object expected, got "%!s(float64=1e+06)"'],
      ['true', 'JSON object expected, got "%!s(bool=true)"'],
      ['"text"', 'JSON object expected, got "text"'],
      [`{"default": ${ACCEPT}, "other": 1}`, 'Unknown key "other"'],
      [`{"default": ${ACCEPT}, "default": ${ACCEPT}}`, 'Duplicate key "default"'],
      ['{"default": []}', 'List of verification policy requirements must not be empty'],
      ['{"default": null}', 'List of verification policy requirements must not be empty'],
      [withDefault('{"docker": {"x": []}}'), 'List of verification policy requirements must not be empty'],
      [withDefault('{"docker": null}'), 'JSON object expected, got "%!s(<nil>)"'],
      [withDefault('[]'), 'JSON object expected, got "["'],
      [withDefault(`{"docker": {"a": ${ACCEPT}, "a": ${ACCEPT}}}`), 'Duplicate key "a"'],
      [withDefault('{"docker": {}, "docker": {}}'), 'Duplicate key "docker"'],
      ['{"default": {}}', 'json: cannot unmarshal object into Go value of type []json.RawMessage'],
      ['{"default": ["reject"]}', 'json: cannot unmarshal string into Go value of type signature.prCommon'],
      [requirement('{}'), 'Unknown policy requirement type ""'],
      [requirement('{"type": "nope"}'), 'Unknown policy requirement type "nope"'],
      [requirement('{"type": "reject", "x": 1}'), 'Unknown key "x"'],
      [requirement('{"TYPE": "reject"}'), 'Unknown key "TYPE"'],
      [
        requirement('{"type": "insecureAcceptAnything", "type": "insecureAcceptAnything"}'),
        'Duplicate key "type"',
      ],
    ];
    for (const [text, message] of cases) rejectsWith(text, message);
  });

  it('validates scope keys per transport and reports a bad one as an unknown key', () => {
    for (const [transport, scope] of [
      ['dir', 'relative/path'],
      ['dir', '/'],
      ['dir', '/a/../b'],
      ['dir', '/a/'],
      ['oci', 'x'],
      ['oci-archive', '/a//b'],
      ['sif', '.'],
      ['docker-archive', '/a.tar'],
      ['tarball', '/a'],
      ['docker-daemon', `sha256:${'a'.repeat(64)}`],
      ['containers-storage', 'docker.io/library/busybox'],
      ['containers-storage', '[relative]'],
    ]) {
      rejectsWith(withDefault(`{"${transport}": {"${scope}": ${ACCEPT}}}`), `Unknown key "${scope}"`);
    }
    for (const [transport, scope] of [
      ['docker', 'anything goes, even this'],
      ['docker', '*.example.com'],
      ['dir', '/a/b'],
      ['oci', '/a'],
      ['docker-daemon', 'docker.io/library/busybox:latest'],
      ['containers-storage', '[overlay@/var/lib/containers/storage]docker.io/library/busybox:latest'],
      ['containers-storage', '[/var/lib/containers/storage]'],
      ['atomic', 'host:443/ns/stream:tag'],
      // 5.23.1 has no atomic transport: like any unknown transport, its scopes are not validated.
      ['atomic', 'host/ns/stream:tag/extra'],
      ['atomic', 'not a:valid:scope'],
    ]) {
      assert.ok(
        parsePolicy(withDefault(`{"${transport}": {"${scope}": ${ACCEPT}}}`))
          .transports.get(transport)!
          .has(scope),
      );
    }
  });

  it('applies the signedBy rules', () => {
    const signedBy = (fields: string) => requirement(`{"type":"signedBy",${fields}}`);
    const cases: [string, string][] = [
      [
        signedBy('"keyType":"GPGKeys"'),
        'Exactly one of keyPath, keyPaths and keyData must be specified, none of them present',
      ],
      [
        signedBy('"keyType":"GPGKeys","keyPath":"/a","keyData":"YQ=="'),
        'Exactly one of keyPath, keyPaths and keyData must be specified, more than one present',
      ],
      [
        signedBy('"keyType":"GPGKeys","keyPath":""'),
        'exactly one of keyPath, keyPaths and keyData must be specified',
      ],
      [signedBy('"keyPath":"/a"'), 'invalid keyType ""'],
      [signedBy('"keyType":"RSA","keyPath":"/a"'), 'Unrecognized keyType value "RSA"'],
      [signedBy('"keyType":"GPGKeys","keyData":"!!!!"'), 'illegal base64 data at input byte 0'],
      [signedBy('"keyType":"GPGKeys","keyData":"YWJj=A=="'), 'illegal base64 data at input byte 4'],
      [
        signedBy('"keyType":"GPGKeys","keyPath":1'),
        'json: cannot unmarshal number into Go value of type string',
      ],
      [
        signedBy('"keyType":"GPGKeys","keyPaths":"/a"'),
        'json: cannot unmarshal string into Go value of type []string',
      ],
      [signedBy('"keyType":"GPGKeys","keyPath":"/a","extra":true'), 'Unknown key "extra"'],
      [
        signedBy('"keyType":"GPGKeys","keyPath":"/a","signedIdentity":null'),
        'Unknown policy reference match type ""',
      ],
    ];
    for (const [text, message] of cases) rejectsWith(text, message);
  });

  it('applies the sigstoreSigned rules of current c/image', () => {
    const sigstore = (fields: string) =>
      requirement(`{"type":"sigstoreSigned"${fields ? `,${fields}` : ''}}`);
    const none = 'exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be specified';
    const fulcio = '"fulcio":{"caPath":"/ca","oidcIssuer":"https://i","subjectEmail":"a@b"}';
    const cases: [string, string][] = [
      [sigstore(''), none],
      [sigstore('"keyPath":"/a","keyData":"YQ=="'), none],
      [sigstore('"keyPaths":[]'), '"keyPaths" contains no entries'],
      [sigstore('"keyDatas":[]'), '"keyDatas" contains no entries'],
      [
        sigstore(fulcio),
        'At least one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas must be specified if fulcio is used',
      ],
      [
        sigstore('"keyPath":"/a","rekorPublicKeyPath":"/r","rekorPublicKeyData":"YQ=="'),
        'at most one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas can be used simultaneously',
      ],
      [
        sigstore('"fulcio":{"oidcIssuer":"i","subjectEmail":"e"},"rekorPublicKeyPath":"/r"'),
        'At least one of caPath and caData must be specified',
      ],
      [
        sigstore(
          '"fulcio":{"caPath":"/c","caData":"YQ==","oidcIssuer":"i","subjectEmail":"e"},"rekorPublicKeyPath":"/r"',
        ),
        'caPath and caData cannot be used simultaneously',
      ],
      [
        sigstore('"fulcio":{"caPath":"/c","subjectEmail":"e"},"rekorPublicKeyPath":"/r"'),
        'oidcIssuer not specified',
      ],
      [
        sigstore('"fulcio":{"caPath":"/c","oidcIssuer":"i"},"rekorPublicKeyPath":"/r"'),
        'subjectEmail not specified',
      ],
      [
        sigstore(
          '"fulcio":{"caPath":"/c","oidcIssuer":"i","subjectEmail":"e","x":1},"rekorPublicKeyPath":"/r"',
        ),
        'Unknown key "x"',
      ],
      [sigstore('"keyPath":"/a","pki":{}'), 'Unknown key "pki"'],
    ];
    for (const [text, message] of cases) rejectsWith(text, message);
  });

  it('applies the signedIdentity rules', () => {
    const cases: [string, string][] = [
      [identity('{"type":"nope"}'), 'Unknown policy reference match type "nope"'],
      [identity('{"type":"matchExact","x":1}'), 'Unknown key "x"'],
      [identity('{"type":"exactReference"}'), 'Key "dockerReference" missing in a JSON object'],
      [
        identity('{"type":"exactReference","dockerReference":"UPPER:v1"}'),
        'Invalid format of dockerReference UPPER:v1: invalid reference format: repository name must be lowercase',
      ],
      [
        identity('{"type":"exactReference","dockerReference":"busybox"}'),
        'dockerReference busybox contains neither a tag nor digest',
      ],
      [
        identity('{"type":"exactRepository","dockerRepository":"a b"}'),
        'Invalid format of dockerRepository a b: invalid reference format',
      ],
      [
        identity('{"type":"remapIdentity","prefix":"example.com"}'),
        'Key "signedPrefix" missing in a JSON object',
      ],
      [
        identity('{"type":"remapIdentity","prefix":"example.com/","signedPrefix":"x.com"}'),
        'prefix "example.com/" is not valid',
      ],
      [
        identity('{"type":"remapIdentity","prefix":"example.com","signedPrefix":"x.com/app:v1"}'),
        'prefix "x.com/app:v1" is not valid',
      ],
      [requirement('{"type":"signedBaseLayer"}'), 'Key "baseLayerIdentity" missing in a JSON object'],
    ];
    for (const [text, message] of cases) rejectsWith(text, message);
    // Short names are not rejected (upstream FIXME); they simply never match.
    assert.ok(
      parsePolicy(identity('{"type":"remapIdentity","prefix":"library/busybox","signedPrefix":"x.com"}')),
    );
    assert.ok(parsePolicy(identity('{"type":"exactRepository","dockerRepository":"busybox:tolerated"}')));
  });

  it('reports where each requirement list sits', () => {
    const { locations } = parsePolicyDocument(
      `{\n "default": ${ACCEPT},\n "transports": {"docker": {\n  "quay.io": ${ACCEPT}}}}`,
    );
    assert.deepEqual(
      locations.map((l) => [l.transport, l.scope, l.position.line]),
      [
        [undefined, undefined, 2],
        ['docker', 'quay.io', 4],
      ],
    );
  });
});
