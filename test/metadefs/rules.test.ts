// Glance's metadef rules as imagetrust's defaults decide them: readers of the owning project and
// anyone with a role on a public namespace read; only cloud administrators write.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAuthorizer, DEFAULT_RULES } from '../../src/identity/index.ts';
import { testCredentials } from '../support/credentials.ts';

const READS = [
  'get_metadef_namespace',
  'get_metadef_object',
  'get_metadef_objects',
  'list_metadef_resource_types',
  'get_metadef_resource_type',
  'get_metadef_property',
  'get_metadef_properties',
  'get_metadef_tag',
  'get_metadef_tags',
];
const WRITES = [
  'add_metadef_namespace',
  'modify_metadef_namespace',
  'delete_metadef_namespace',
  'add_metadef_object',
  'modify_metadef_object',
  'delete_metadef_object',
  'add_metadef_resource_type_association',
  'remove_metadef_resource_type_association',
  'add_metadef_property',
  'modify_metadef_property',
  'remove_metadef_property',
  'add_metadef_tag',
  'add_metadef_tags',
  'modify_metadef_tag',
  'delete_metadef_tag',
  'delete_metadef_tags',
];

describe('metadef default rules', () => {
  const authorizer = createAuthorizer();
  const admin = testCredentials('u-admin', 'p-admin', ['admin', 'member', 'reader']);
  const member = testCredentials('u1', 'p1', ['member', 'reader']);
  const unscoped = testCredentials('u2', null, []);
  const publicOfOthers = { projectId: 'admin', visibility: 'public' };
  const privateOfOthers = { projectId: 'p2', visibility: 'private' };
  const privateOwn = { projectId: 'p1', visibility: 'private' };

  it('exist under every Glance metadef name', () => {
    const names = new Set(DEFAULT_RULES.map((rule) => rule.name));
    for (const name of [...READS, ...WRITES, 'get_metadef_namespaces', 'metadef_admin', 'metadef_default']) {
      assert.ok(names.has(name), name);
    }
  });

  it('let readers read public namespaces and their own project private ones, nothing else', () => {
    for (const action of READS) {
      assert.equal(authorizer.isAllowed(action, member, publicOfOthers), true, action);
      assert.equal(authorizer.isAllowed(action, member, privateOwn), true, action);
      assert.equal(authorizer.isAllowed(action, member, privateOfOthers), false, action);
      assert.equal(authorizer.isAllowed(action, unscoped, publicOfOthers), false, action);
      assert.equal(authorizer.isAllowed(action, admin, privateOfOthers), true, action);
    }
    assert.equal(authorizer.isAllowed('get_metadef_namespaces', member, { projectId: 'p1' }), true);
    assert.equal(authorizer.isAllowed('get_metadef_namespaces', unscoped, {}), false);
  });

  it('let only administrators write, even on the project own namespaces', () => {
    for (const action of WRITES) {
      assert.equal(authorizer.isAllowed(action, admin, privateOfOthers), true, action);
      assert.equal(authorizer.isAllowed(action, member, privateOwn), false, action);
      assert.equal(authorizer.isAllowed(action, member, publicOfOthers), false, action);
    }
  });
});
