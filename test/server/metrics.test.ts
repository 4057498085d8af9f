// GET /metrics: Prometheus's text format, to loopback by default, counting what a monitoring system needs
// (requests, bytes, uploads in flight, verifications, policy denials, audit appends, tree-head age, blob
// operations); parsed here as Prometheus would, each figure checked after the calls that move it.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Samples by metric name and label set (`name{a="1",b="2"}` with labels sorted), as numbers. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    const labels = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    samples.set(labels ? `${match[1]}{${labels}}` : match[1], Number(match[3]));
  }
  return samples;
}

function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const key = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  return samples.get(key ? `${name}{${key}}` : name) ?? 0;
}

describe('GET /metrics', () => {
  let t: TestServer;
  let token: string;

  before(async () => {
    t = await startTestServer();
    token = await t.token();
  });
  after(() => t.stop());

  it('counts requests, bytes both ways, blob operations and audit appends', async () => {
    const before = await scrape(t.url);
    const created = await apiCall(t.url, token, 'POST', '/image/v2/images', {
      name: 'm',
      disk_format: 'raw',
      container_format: 'bare',
    });
    const id = created.json.id as string;
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const put = await apiCall(t.url, token, 'PUT', `/image/v2/images/${id}/file`, data, {
      'content-type': 'application/octet-stream',
    });
    assert.equal(put.status, 204);
    const got = await apiCall(t.url, token, 'GET', `/image/v2/images/${id}/file`);
    assert.equal(got.bytes.length, data.length);
    const after = await scrape(t.url);

    const delta = (name: string, labels?: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta('imagetrust_image_bytes_uploaded_total'), data.length);
    assert.equal(delta('imagetrust_image_bytes_downloaded_total'), data.length);
    assert.equal(
      delta('imagetrust_http_requests_total', {
        route: '/image/v2/images/:id/file',
        method: 'PUT',
        status: '204',
      }),
      1,
    );
    assert.equal(
      delta('imagetrust_http_requests_total', {
        route: '/image/v2/images/:id/file',
        method: 'GET',
        status: '200',
      }),
      1,
    );
    assert.equal(
      delta('imagetrust_http_request_duration_seconds_count', { route: '/image/v2/images', method: 'POST' }),
      1,
    );
    assert.equal(delta('imagetrust_blob_operation_duration_seconds_count', { operation: 'commit' }), 1);
    assert.equal(delta('imagetrust_blob_operation_duration_seconds_count', { operation: 'read' }), 1);
    assert.equal(delta('imagetrust_audit_appends_total', { type: 'image.created' }), 1);
    assert.equal(delta('imagetrust_audit_appends_total', { type: 'image.uploaded' }), 1);
    const age = sample(after, 'imagetrust_audit_tree_head_age_seconds');
    assert.ok(age >= 0 && Number.isFinite(age), `tree head age ${age}`);
    assert.equal(sample(after, 'imagetrust_uploads_in_flight'), 0);
    assert.ok(after.has('imagetrust_password_derivations{state="running"}'), 'no password derivation gauge');
    assert.equal(sample(after, 'imagetrust_password_derivations', { state: 'waiting' }), 0);
    // The process's own figures come along.
    assert.ok(sample(after, 'imagetrust_process_resident_memory_bytes') > 0);
  });

  it('counts a refused signature check and a policy denial by rule', async () => {
    const before = await scrape(t.url);
    const created = await apiCall(t.url, token, 'POST', '/image/v2/images', {
      name: 'signed',
      disk_format: 'raw',
      container_format: 'bare',
      img_signature: 'c2lnbmF0dXJl',
      img_signature_hash_method: 'SHA-256',
      img_signature_key_type: 'RSA-PSS',
      img_signature_certificate_uuid: '00000000-0000-4000-8000-000000000000',
    });
    const put = await apiCall(t.url, token, 'PUT', `/image/v2/images/${created.json.id}/file`, 'data', {
      'content-type': 'application/octet-stream',
    });
    assert.equal(put.status, 400);
    await t.addUser('metrics-reader', 'reader');
    const reader = await t.token('metrics-reader', 'metrics-reader-password');
    const refused = await apiCall(t.url, reader, 'POST', '/image/v2/images', { name: 'no' });
    assert.equal(refused.status, 403);
    const after = await scrape(t.url);
    const delta = (name: string, labels?: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    assert.equal(delta('imagetrust_signature_verifications_total', { outcome: 'refused' }), 1);
    assert.equal(delta('imagetrust_policy_denials_total', { rule: 'add_image' }), 1);
  });

  it('shows an upload in flight while its body is still arriving', async () => {
    const created = await apiCall(t.url, token, 'POST', '/image/v2/images', {
      name: 'slow',
      disk_format: 'raw',
      container_format: 'bare',
    });
    const target = new URL(`${t.url}/image/v2/images/${created.json.id}/file`);
    const upload = httpRequest(target, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': 2048 },
    });
    const answered = new Promise<number>((resolve, reject) => {
      upload.on('response', (response) => {
        response.resume();
        resolve(response.statusCode!);
      });
      upload.on('error', reject);
    });
    upload.write(Buffer.alloc(1024));
    // Wait for the server to have started the upload (a bounded number of scrapes, not a time).
    let inFlight = 0;
    for (let i = 0; i < 500 && inFlight === 0; i++) {
      inFlight = sample(await scrape(t.url), 'imagetrust_uploads_in_flight');
    }
    assert.equal(inFlight, 1);
    upload.end(Buffer.alloc(1024));
    assert.equal(await answered, 204);
    assert.equal(sample(await scrape(t.url), 'imagetrust_uploads_in_flight'), 0);
  });
});

describe('who may read /metrics', () => {
  it('refuses a peer metrics.allowFrom does not list, and is not served when the list is empty', async () => {
    const elsewhere = await startTestServer({ metrics: { allowFrom: ['10.0.0.0/8'] } });
    const off = await startTestServer({ metrics: { allowFrom: [] } });
    try {
      const refused = await fetch(`${elsewhere.url}/metrics`);
      assert.equal(refused.status, 403);
      assert.doesNotMatch(await refused.text(), /imagetrust_/);
      assert.equal((await fetch(`${off.url}/metrics`)).status, 404);
    } finally {
      await elsewhere.stop();
      await off.stop();
    }
  });
});
