// SigV4 against AWS's published examples, the XML reader's refusals, and credentials that never print.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  loadS3Credentials,
  readCredentialsFile,
  S3Client,
  S3Credentials,
} from '../../src/storage/blobs/s3-client.ts';
import { EMPTY_SHA256, signRequest } from '../../src/storage/blobs/s3-signing.ts';
import { parseXml, XmlError } from '../../src/storage/blobs/s3-xml.ts';

describe('SigV4 signing (AWS published test vectors)', () => {
  it('signs get-vanilla of the Signature Version 4 test suite', () => {
    // aws-sig-v4-test-suite/get-vanilla: GET / on example.amazonaws.com, service "service".
    const signed = signRequest(
      {
        method: 'GET',
        path: '/',
        headers: { Host: 'example.amazonaws.com' },
        payloadHash: EMPTY_SHA256,
        region: 'us-east-1',
        service: 'service',
        now: new Date(Date.UTC(2015, 7, 30, 12, 36, 0)),
      },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    );
    assert.equal(
      signed.canonicalRequest,
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' + EMPTY_SHA256,
    );
    assert.equal(
      signed.stringToSign,
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n' +
        'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
    assert.equal(
      signed.headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  const s3Example = {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  };
  const may24 = new Date(Date.UTC(2013, 4, 24));

  it("signs the S3 guide's GET Object example (a Range header)", () => {
    const signed = signRequest(
      {
        method: 'GET',
        path: '/test.txt',
        headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' },
        payloadHash: EMPTY_SHA256,
        region: 'us-east-1',
        service: 's3',
        now: may24,
      },
      s3Example,
    );
    assert.equal(
      signed.headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    assert.equal(signed.headers['x-amz-content-sha256'], EMPTY_SHA256);
    assert.equal(signed.headers['x-amz-date'], '20130524T000000Z');
  });

  it("signs the S3 guide's GET Bucket example (query parameters sorted and encoded)", () => {
    const signed = signRequest(
      {
        method: 'GET',
        path: '/',
        query: [
          ['prefix', 'J'],
          ['max-keys', '2'],
        ],
        headers: { host: 'examplebucket.s3.amazonaws.com' },
        payloadHash: EMPTY_SHA256,
        region: 'us-east-1',
        service: 's3',
        now: may24,
      },
      s3Example,
    );
    assert.equal(signed.signature, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('changes the signature with the secret, the region or a signed header, and signs a session token', () => {
    const base = {
      method: 'GET',
      path: '/test.txt',
      headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' },
      payloadHash: EMPTY_SHA256,
      region: 'us-east-1',
      service: 's3',
      now: may24,
    };
    const reference = signRequest(base, s3Example).signature;
    assert.notEqual(signRequest(base, { ...s3Example, secretAccessKey: 'other' }).signature, reference);
    assert.notEqual(signRequest({ ...base, region: 'RegionOne' }, s3Example).signature, reference);
    assert.notEqual(
      signRequest({ ...base, headers: { ...base.headers, range: 'bytes=0-8' } }, s3Example).signature,
      reference,
    );
    const withToken = signRequest(base, { ...s3Example, sessionToken: 'token-1' });
    assert.equal(withToken.headers['x-amz-security-token'], 'token-1');
    assert.match(
      withToken.headers.authorization,
      /SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token,/,
    );
  });
});

describe('the S3 XML reader', () => {
  it('reads elements, text, entities, CDATA and skips attributes and the declaration', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Contents><Key>a&amp;b&#x41;&#66;</Key></Contents><!-- note --><Contents><Key><![CDATA[<x>]]></Key></Contents>' +
        '<IsTruncated>false</IsTruncated><Empty/></ListBucketResult>',
    );
    assert.equal(root.name, 'ListBucketResult');
    assert.deepEqual(
      root.children.filter((c) => c.name === 'Contents').map((c) => c.children[0].text),
      ['a&bAB', '<x>'],
    );
    assert.equal(root.children.at(-1)?.name, 'Empty');
  });

  for (const [label, text] of [
    ['a DOCTYPE (entity expansion)', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'],
    ['an unknown entity', '<x>&nope;</x>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b></b>'],
    ['two roots', '<a/><b/>'],
    ['text outside the root', 'junk<a/>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['nesting past the depth limit', `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`],
    ['nothing', ''],
  ] as const) {
    it(`refuses ${label}`, () => {
      assert.throws(() => parseXml(text), XmlError);
    });
  }

  it('refuses a document over its size or element limits', () => {
    assert.throws(() => parseXml(`<a>${'x'.repeat(100)}</a>`, { maxChars: 50 }), XmlError);
    assert.throws(() => parseXml(`<a>${'<b/>'.repeat(20)}</a>`, { maxElements: 10 }), XmlError);
  });
});

describe('S3 credentials', () => {
  it('never show the secret when printed or serialised', () => {
    const credentials = new S3Credentials('AKID', 'very-secret-value', 'session-token-value');
    for (const shown of [
      inspect(credentials),
      JSON.stringify(credentials),
      inspect({ nested: credentials }),
      String(credentials),
    ]) {
      assert.ok(!shown.includes('very-secret-value'), shown);
      assert.ok(!shown.includes('session-token-value'), shown);
    }
    assert.equal(credentials.secretAccessKey, 'very-secret-value');
  });

  it('come from the environment, or from a shared credentials file profile', async () => {
    const env = loadS3Credentials({}, { AWS_ACCESS_KEY_ID: 'env-id', AWS_SECRET_ACCESS_KEY: 'env-secret' });
    assert.equal(env.accessKeyId, 'env-id');
    assert.equal(env.secretAccessKey, 'env-secret');
    assert.throws(() => loadS3Credentials({}, {}), /AWS_ACCESS_KEY_ID/);

    const dir = await mkdtemp(path.join(tmpdir(), 'imagetrust-creds-'));
    try {
      const file = path.join(dir, 'credentials');
      await writeFile(
        file,
        '# comment\n[default]\naws_access_key_id = d-id\naws_secret_access_key = d-secret\n\n' +
          '[profile images]\naws_access_key_id=i-id\naws_secret_access_key = i-secret\naws_session_token = i-token\n',
      );
      assert.equal(readCredentialsFile(file).accessKeyId, 'd-id');
      const images = loadS3Credentials({ credentialsFile: file, profile: 'images' }, {});
      assert.deepEqual(
        [images.accessKeyId, images.secretAccessKey, images.sessionToken],
        ['i-id', 'i-secret', 'i-token'],
      );
      assert.throws(() => readCredentialsFile(file, 'missing'), /no profile 'missing'/);
      assert.throws(() => readCredentialsFile(path.join(dir, 'none')), /Cannot read the S3 credentials file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('S3 request addressing', () => {
  it('puts the bucket in the path (path-style) or in the Host header (virtual-host style), keys encoded', async () => {
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer((request, response) => {
      seen.push({ url: request.url ?? '', headers: request.headers });
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const credentials = new S3Credentials('id', 'secret');
    try {
      for (const pathStyle of [true, false]) {
        const client = new S3Client({
          endpoint: `http://127.0.0.1:${port}/base`,
          region: 'us-east-1',
          bucket: 'images',
          pathStyle,
          credentials,
        });
        await client.send({ method: 'GET', key: 'data/a b+c', query: [['uploadId', 'x/y=']] });
        client.close();
      }
    } finally {
      server.close();
    }
    assert.equal(seen[0].url, '/base/images/data/a%20b%2Bc?uploadId=x%2Fy%3D');
    assert.equal(seen[0].headers.host, `127.0.0.1:${port}`);
    assert.equal(seen[1].url, '/base/data/a%20b%2Bc?uploadId=x%2Fy%3D');
    assert.equal(seen[1].headers.host, `images.127.0.0.1:${port}`);
    for (const { headers } of seen) {
      assert.match(
        String(headers.authorization),
        /^AWS4-HMAC-SHA256 Credential=id\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
      );
      assert.ok(!JSON.stringify(headers).includes('secret'));
    }
  });
});
