// Secret ACLs without I/O: reading a request against Barbican's ACL schema, planning PUT, PATCH and
// DELETE, the JSON view, and what an ACL says about one caller.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aclAccessFor,
  planAclChange,
  readAclRequest,
  type SecretAcl,
  toAclView,
} from '../../src/keys/index.ts';

const T0 = '2024-03-01T10:00:00.000Z';
const T1 = '2024-03-02T11:30:00.250Z';

const readAcl = (users: string[], projectAccess = true): SecretAcl => ({
  operation: 'read',
  projectAccess,
  users,
  createdAt: T0,
  updatedAt: T0,
});

describe('readAclRequest', () => {
  it('reads users and project-access, strips whitespace and drops repeated users', () => {
    assert.deepEqual(readAclRequest({ read: { users: [' u1 ', 'u2', 'u1'], 'project-access': false } }), {
      read: { users: ['u1', 'u2'], projectAccess: false },
    });
    assert.deepEqual(readAclRequest({ read: { users: [] } }), { read: { users: [] } });
  });

  it('treats an empty operation object as not named, as Barbican does', () => {
    assert.deepEqual(readAclRequest({ read: {} }), {});
    assert.deepEqual(readAclRequest({}), {});
  });

  for (const [what, body] of [
    ['a body that is not an object', []],
    ['a JSON null', null],
    ['an unknown operation', { write: { users: ['u1'] } }],
    ['an operation that is not an object', { read: 'u1' }],
    ['an unknown field', { read: { users: [], creator_only: true } }],
    ['users that are not a list', { read: { users: 'u1' } }],
    ['users that are null', { read: { users: null } }],
    ['a user id that is not a string', { read: { users: [42] } }],
    ['a non-string user id after a string one', { read: { users: ['u1', 42] } }],
    ['a user id over 255 characters', { read: { users: ['x'.repeat(256)] } }],
    ['project-access that is not a boolean', { read: { 'project-access': 'false' } }],
  ] as const) {
    it(`refuses ${what} as BAD_REQUEST`, () => {
      assert.throws(() => readAclRequest(body), { code: 'BAD_REQUEST', status: 400 });
    });
  }

  it("words a schema violation as Barbican's validator does", () => {
    assert.throws(() => readAclRequest({ write: {} }), {
      message:
        "Provided object does not match schema 'ACL': Additional properties are not allowed ('write' was unexpected). Invalid property: 'None'",
    });
    assert.throws(() => readAclRequest({ read: { 'project-access': 'no' } }), {
      message:
        "Provided object does not match schema 'ACL': 'no' is not of type 'boolean'. Invalid property: 'read'",
    });
  });
});

describe('planAclChange', () => {
  it('PUT replaces: unnamed fields take the defaults (project access, no users)', () => {
    const existing = [readAcl(['u1'], false)];
    assert.deepEqual(planAclChange(existing, { kind: 'replace', request: { read: { users: ['u2'] } } }, T1), [
      { operation: 'read', projectAccess: true, users: ['u2'], createdAt: T0, updatedAt: T1 },
    ]);
    assert.deepEqual(
      planAclChange([], { kind: 'replace', request: { read: { projectAccess: false } } }, T1),
      [{ operation: 'read', projectAccess: false, users: [], createdAt: T1, updatedAt: T1 }],
    );
  });

  it('PUT naming no operation removes the ACLs it leaves out', () => {
    assert.deepEqual(planAclChange([readAcl(['u1'])], { kind: 'replace', request: {} }, T1), []);
  });

  it('PATCH changes only the fields given and keeps the others', () => {
    const existing = [readAcl(['u1'], false)];
    assert.deepEqual(
      planAclChange(existing, { kind: 'update', request: { read: { projectAccess: true } } }, T1),
      [{ operation: 'read', projectAccess: true, users: ['u1'], createdAt: T0, updatedAt: T1 }],
    );
    assert.deepEqual(planAclChange(existing, { kind: 'update', request: { read: { users: [] } } }, T1), [
      { operation: 'read', projectAccess: false, users: [], createdAt: T0, updatedAt: T1 },
    ]);
    assert.deepEqual(planAclChange(existing, { kind: 'update', request: {} }, T1), existing);
  });

  it('PATCH on a secret without an ACL creates one with the defaults for what it leaves out', () => {
    assert.deepEqual(planAclChange([], { kind: 'update', request: { read: { users: ['u3'] } } }, T1), [
      { operation: 'read', projectAccess: true, users: ['u3'], createdAt: T1, updatedAt: T1 },
    ]);
  });

  it('DELETE removes every ACL', () => {
    assert.deepEqual(planAclChange([readAcl(['u1'])], { kind: 'delete' }, T1), []);
  });
});

describe('toAclView', () => {
  it("shows Barbican's implicit default when the secret has no ACL", () => {
    assert.deepEqual(toAclView([]), { read: { 'project-access': true } });
  });

  it('shows each operation with its users and Barbican-style times', () => {
    const acl = { ...readAcl(['u1', 'u2'], false), updatedAt: T1 };
    assert.deepEqual(toAclView([acl]), {
      read: {
        'project-access': false,
        users: ['u1', 'u2'],
        created: '2024-03-01T10:00:00',
        updated: '2024-03-02T11:30:00.250000',
      },
    });
  });
});

describe('aclAccessFor', () => {
  it('opens a secret without an ACL to its project and lists nobody', () => {
    assert.deepEqual(aclAccessFor([], 'u1'), { readProjectAccess: true, listedForRead: false });
  });

  it('reports the project-access flag for everyone and the listing for the users listed', () => {
    const acls = [readAcl(['u1'], false)];
    assert.deepEqual(aclAccessFor(acls, 'u1'), { readProjectAccess: false, listedForRead: true });
    assert.deepEqual(aclAccessFor(acls, 'u2'), { readProjectAccess: false, listedForRead: false });
    // Whole ids only: a part of a listed id, or an id containing one, is not listed.
    assert.equal(aclAccessFor([readAcl(['bob-2'])], 'bob').listedForRead, false);
    assert.equal(aclAccessFor([readAcl(['bob'])], 'bob-2').listedForRead, false);
  });
});
