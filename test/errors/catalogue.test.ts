// The error catalogue is API: docs/errors.md must list every code with the same status and exit code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CATALOGUE, ImageTrustError, toImageTrustError } from '../../src/errors/index.ts';

describe('error catalogue', () => {
  it('matches docs/errors.md row for row', () => {
    const rows = [
      ...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(
        /^\| `([A-Z_]+)` \| (\d+) \| (\d+) \| (.+) \|$/gm,
      ),
    ];
    const documented = Object.fromEntries(
      rows.map((m) => [m[1], { status: Number(m[2]), exit: Number(m[3]), doc: m[4] }]),
    );
    assert.deepEqual(documented, ERROR_CATALOGUE);
  });

  it('uses SCREAMING_SNAKE codes and HTTP error statuses', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/);
      assert.ok(entry.status >= 400 && entry.status < 600, code);
      assert.ok(entry.exit > 0 && entry.exit < 128, code);
    }
  });

  it('wraps foreign errors as INTERNAL and keeps the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = toImageTrustError(cause);
    assert.ok(wrapped instanceof ImageTrustError);
    assert.equal(wrapped.code, 'INTERNAL');
    assert.equal(wrapped.cause, cause);
  });
});
