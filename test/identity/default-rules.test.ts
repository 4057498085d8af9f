// The in-code defaults: every rule name the code enforces has a default, every default parses, and
// the defaults decide as the API documents (admins, project members, readers, other projects).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type Credentials, createAuthorizer, DEFAULT_RULES } from '../../src/identity/index.ts';
import { lintPolicyFile } from '../../src/identity/policy/index.ts';
import { testCredentials } from '../support/credentials.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;
// Namespaced rule names anywhere, and the first argument of every authorization call (Glance's bare names).
const RULE_NAME =
  /'((?:image|secrets?|containers|identity|audit):[a-z_]+)'|(?:enforce|isAllowed|#enforceOwner)\(\s*'([a-z_:]+)'/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(path.join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [path.join(dir, entry.name)]
        : [],
  );
}

const credentials = (roles: string[], projectId: string | null, userId = 'u1'): Credentials =>
  testCredentials(userId, projectId, roles);

describe('default rules', () => {
  const names = new Set(DEFAULT_RULES.map((rule) => rule.name));

  it('cover every rule name the code enforces', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(SRC)) {
      if (file.endsWith('default-rules.ts')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(RULE_NAME)) used.add(match[1] ?? match[2]);
    }
    assert.ok(used.size > 50, `found only ${used.size} rule names in src`);
    for (const glance of ['get_images', 'modify_image', 'publicize_image', 'get_member']) {
      assert.ok(used.has(glance), `${glance} is enforced under Glance's own name`);
    }
    const missing = [...used].filter((name) => !names.has(name));
    assert.deepEqual(missing, [], 'rules enforced in code without a default');
  });

  it('are unique, parse, and a sample file made of them lints clean', () => {
    assert.equal(names.size, DEFAULT_RULES.length, 'duplicate rule names');
    const file = DEFAULT_RULES.map(
      (rule) => `${JSON.stringify(rule.name)}: ${JSON.stringify(rule.check)}`,
    ).join('\n');
    const errors = lintPolicyFile(file, 'defaults.yaml', DEFAULT_RULES).filter((f) => f.severity === 'error');
    assert.deepEqual(errors, []);
  });

  it('decide as documented for admins, members, readers and other projects', () => {
    const authorizer = createAuthorizer();
    const admin = credentials(['admin', 'member', 'reader'], 'p-admin');
    const member = credentials(['member', 'reader'], 'p1');
    const reader = credentials(['reader'], 'p1');
    const unscoped = credentials([], null);
    const own = { projectId: 'p1' };
    const other = { projectId: 'p2' };
    const cases: [string, Credentials, object, boolean][] = [
      ['modify_image', member, own, true],
      ['modify_image', member, other, false],
      ['modify_image', reader, own, false],
      ['modify_image', admin, other, true],
      ['get_images', reader, {}, true],
      ['get_images', unscoped, {}, false],
      ['publicize_image', member, own, false],
      ['publicize_image', admin, own, true],
      ['modify_member', member, { memberId: 'p1' }, true],
      ['modify_member', member, { memberId: 'p2' }, false],
      ['image:decide_release', member, own, false],
      ['image:decide_release', credentials(['approver'], 'p9'), own, true],
      ['image:restore_obsolete', member, own, false],
      ['secret:decrypt', member, own, true],
      ['secret:decrypt', member, other, false],
      ['secret:decrypt', reader, own, false],
      // Barbican's secure RBAC: an admin is a member only in their own project.
      ['secret:decrypt', admin, other, false],
      ['secrets:post', unscoped, { projectId: null }, false],
      // Secret ACLs: project access off keeps other members out; a listed user reads from anywhere.
      ['secret:get', member, { ...own, userId: 'u9', readProjectAccess: false }, false],
      ['secret:get', member, { ...own, userId: 'u1', readProjectAccess: false }, true],
      ['secret:delete', member, { ...own, userId: 'u9', readProjectAccess: false }, false],
      ['secret:get', credentials(['admin', 'member'], 'p1'), { ...own, readProjectAccess: false }, true],
      ['secret:decrypt', member, { ...other, listedForRead: true }, true],
      ['secret:decrypt', member, { ...other, listedForRead: false }, false],
      ['secret:delete', member, { ...other, listedForRead: true }, false],
      // Secret metadata: read as secret:get (a listed user too), changed as secret:put.
      ['secret_meta:get', member, { ...other, listedForRead: true }, true],
      ['secret_meta:get', reader, own, false],
      ['secret_meta:put', member, { ...other, listedForRead: true }, false],
      ['secret_meta:post', member, own, true],
      ['secret_meta:delete', member, { ...own, userId: 'u9', readProjectAccess: false }, false],
      ['secret_meta:delete', member, other, false],
      // Managing an ACL: the creator or the project's admins only, as Barbican decides in effect.
      ['secret_acls:get', member, { ...own, userId: 'u1' }, true],
      ['secret_acls:put_patch', member, { ...own, userId: 'u9' }, false],
      ['secret_acls:delete', credentials(['admin', 'member'], 'p1'), { ...own, userId: 'u9' }, true],
      ['secret_acls:delete', admin, { ...other, userId: 'u9' }, false],
      ['secret_acls:get', reader, { ...own, userId: 'u1' }, false],
      ['identity:get_user', member, { userId: 'u1' }, true],
      ['identity:get_user', member, { userId: 'u2' }, false],
      ['identity:create_user', member, {}, false],
      ['identity:create_user', admin, {}, true],
      ['audit:get_entries', credentials(['auditor'], 'p1'), {}, true],
      ['audit:get_entries', member, {}, false],
      ['no:such_rule', member, {}, false],
      ['no:such_rule', admin, {}, true],
    ];
    for (const [rule, who, target, expected] of cases) {
      assert.equal(
        authorizer.isAllowed(rule, who, target),
        expected,
        `${rule} for ${who.roles.join('+') || 'unscoped'} on ${JSON.stringify(target)}`,
      );
    }
  });
});
