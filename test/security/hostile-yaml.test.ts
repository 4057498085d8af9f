// YAML alias bombs ("billion laughs") in registries.d: the parser's alias guard must become a
// POLICY_INVALID 400, as containers/image's Go YAML reports "excessive aliasing", never a 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCall } from '../support/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Ten levels of nine aliases each: 9^10 nodes once expanded. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 10; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('docker:', '  example.com:', '    lookaside: https://example.com/sigs', '    x: *a10');
  return `${lines.join('\n')}\n`;
}

describe('hostile registries.d YAML', () => {
  let t: TestServer;
  let admin: string;
  before(async () => {
    t = await startTestServer();
    admin = await t.token();
  });
  after(async () => t?.stop());

  it('refuses an alias bomb with 400 POLICY_INVALID', async () => {
    const r = await apiCall(t.url, admin, 'PUT', '/containers/v1/registries.d', aliasBomb(), {
      'content-type': 'application/yaml',
    });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('x-imagetrust-error-code'), 'POLICY_INVALID');
  });

  it('keeps serving afterwards', async () => {
    const r = await apiCall(
      t.url,
      admin,
      'PUT',
      '/containers/v1/registries.d',
      'docker:\n  example.com:\n    lookaside: https://example.com/sigs\n',
      { 'content-type': 'application/yaml' },
    );
    assert.equal(r.status, 200);
  });
});
