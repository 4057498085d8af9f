// Cloud administration is the admin role on the admin project only; identity.adminOnAnyProject, kept for
// conformance runs written against Keystone's legacy defaults (Tempest), widens it to any project.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestServer } from '../support/server.ts';

for (const adminOnAnyProject of [false, true]) {
  describe(`identity.adminOnAnyProject: ${adminOnAnyProject}`, () => {
    it(`${adminOnAnyProject ? 'makes' : 'does not make'} the admin role on another project cloud admin`, async () => {
      const server = await startTestServer({ identity: { adminOnAnyProject } });
      try {
        await server.addUser('elsewhere', 'admin');
        const token = await server.token('elsewhere', 'elsewhere-password');
        const credentials = await server.server.services.identity.validateToken(token);
        assert.equal(credentials.isAdmin, adminOnAnyProject);
        // The bootstrap admin on the admin project administers the cloud either way.
        const admin = await server.server.services.identity.validateToken(await server.token());
        assert.equal(admin.isAdmin, true);
        // And the identity API follows: listing every user is a cloud administrator's call.
        const users = await fetch(`${server.url}/identity/v3/users`, { headers: { 'X-Auth-Token': token } });
        assert.equal(users.status, adminOnAnyProject ? 200 : 403);
      } finally {
        await server.stop();
      }
    });
  });
}
