// expandRoles: the roles a set of assigned roles grants through inference rules, as Keystone expands them;
// and what rules see of a domain-scoped token.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toPolicyCredentials } from '../../src/identity/authorize.ts';
import { expandRoles, type Role } from '../../src/identity/index.ts';
import { testCredentials } from '../support/credentials.ts';

const role = (name: string, domain_id: string | null = null): Role => ({ id: `id-${name}`, name, domain_id });
const names = (out: { role: Role; prior?: Role }[]) =>
  out.map((e) => (e.prior ? `${e.role.name}<${e.prior.name}` : e.role.name));

describe('expandRoles', () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => role(n));

  it('adds implied roles transitively, each with the assigned role it came from', () => {
    const rules = [
      { prior: a, implied: b },
      { prior: b, implied: c },
    ];
    assert.deepEqual(names(expandRoles([a], rules)), ['a', 'b<a', 'c<a']);
  });

  it('counts a role both assigned and implied once, as assigned', () => {
    assert.deepEqual(names(expandRoles([a, b], [{ prior: a, implied: b }])), ['a', 'b']);
  });

  it('ends on a cycle of rules', () => {
    const rules = [
      { prior: a, implied: b },
      { prior: b, implied: a },
      { prior: b, implied: d },
    ];
    assert.deepEqual(names(expandRoles([a], rules)), ['a', 'b<a', 'd<a']);
  });

  it('drops domain-specific roles, keeping the global roles they imply', () => {
    const scoped = role('scoped', 'dom1');
    const other = role('other-scoped', 'dom2');
    const rules = [
      { prior: scoped, implied: other },
      { prior: other, implied: c },
    ];
    assert.deepEqual(names(expandRoles([scoped], rules)), ['c<scoped']);
    assert.deepEqual(expandRoles([scoped], []), []);
  });
});

describe('toPolicyCredentials for a domain-scoped token', () => {
  it('passes the domain as domain_id, and no project', () => {
    const credentials = {
      ...testCredentials('u1', null, ['reader']),
      isAdmin: false,
      scopeDomainId: 'd1',
      scopeDomainName: 'lab',
    };
    const seen = toPolicyCredentials(credentials);
    assert.equal(seen.domain_id, 'd1');
    assert.equal(seen.project_id, undefined);
    assert.equal(toPolicyCredentials(testCredentials('u1', 'p1', ['reader'])).domain_id, undefined);
  });
});
