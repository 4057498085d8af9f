// Query strings built to overflow the SQL a list turns into: thousands of sort keys or property
// filters. The list answers 200 when the query means something and 400 INVALID_QUERY when it cannot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('hostile image-list queries', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.token();
    await apiCall(t.url, admin, 'POST', '/image/v2/images', {
      name: 'listed',
      disk_format: 'raw',
      container_format: 'bare',
    });
  });
  after(async () => t?.stop());

  const list = (query: string) => apiCall(t.url, admin, 'GET', `/image/v2/images?${query}`);

  it('lists with sort_key given 1,000 times as with the key once, and refuses 2,000 keys in one with 400', async () => {
    const r = await list(`${Array(1000).fill('sort_key=name').join('&')}&sort_dir=asc`);
    assert.equal(r.status, 200);
    assert.equal((r.json.images as unknown[]).length, 1);
    // Glance takes a sort_key whole: a comma-joined list is one unknown key.
    const joined = await list(`sort_key=${Array(2000).fill('name').join(',')}&sort_dir=asc`);
    assert.equal(joined.status, 400);
  });

  it('lists with the old sort syntax repeating one key 2,000 times', async () => {
    const r = await list(`sort=${Array(2000).fill('name').join(',')}`);
    assert.equal(r.status, 200);
  });

  it('refuses 1,500 property filters with 400 INVALID_QUERY', async () => {
    const r = await list(Array.from({ length: 1500 }, (_, i) => `p${i}=v`).join('&'));
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('x-imagetrust-error-code'), 'INVALID_QUERY');
  });

  it('refuses 1,500 tag filters with 400 INVALID_QUERY', async () => {
    const r = await list(Array.from({ length: 1500 }, (_, i) => `tag=t${i}`).join('&'));
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('x-imagetrust-error-code'), 'INVALID_QUERY');
  });

  it('still filters on a handful of properties', async () => {
    const r = await list('p1=v&p2=v&tag=x');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.images, []);
  });
});

describe('hostile Keystone list queries', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.token();
  });
  after(async () => t?.stop());

  it('reads a repeated name or domain_id filter by its first value, as Keystone does', async () => {
    for (const url of [
      '/identity/v3/users?name=admin&name=other',
      '/identity/v3/projects?name=admin&name=other',
      '/identity/v3/roles?name=admin&name=other',
      '/identity/v3/users?domain_id=default&domain_id=other',
      '/identity/v3/projects?domain_id=default&domain_id=other',
    ]) {
      const r = await apiCall(t.url, admin, 'GET', url);
      assert.equal(r.status, 200, url);
      const [listed] = Object.values(r.json).filter(Array.isArray) as unknown[][];
      assert.ok(listed.length >= 1, url);
    }
  });

  it("answers a URL the router cannot take (a bad %-escape, a 2,000-character segment) with 400 in each API's own error form", async () => {
    const long = 'a'.repeat(2000);
    const shapes = {
      glance: (json: Record<string, unknown>) =>
        json.code === '400 Bad Request' && json.title === 'Bad Request',
      keystone: (json: Record<string, unknown>) =>
        (json.error as { code?: number } | undefined)?.code === 400,
      barbican: (json: Record<string, unknown>) => json.code === 400 && json.title === 'Bad Request',
    };
    for (const [url, form] of [
      ['/image/v2/images/%ZZ', 'glance'],
      [`/image/v2/images/${long}`, 'glance'],
      ['/identity/v3/users/%E0%A4%A', 'keystone'],
      [`/identity/v3/users/${long}`, 'keystone'],
      ['/key-manager/v1/secrets/%ZZ', 'barbican'],
    ] as const) {
      const r = await apiCall(t.url, admin, 'GET', url);
      assert.equal(r.status, 400, url.slice(0, 60));
      assert.equal(r.headers.get('x-imagetrust-error-code'), 'BAD_REQUEST', url.slice(0, 60));
      assert.ok(shapes[form](r.json), `${url.slice(0, 60)}: ${r.text.slice(0, 200)}`);
    }
  });
});
