// Credentials as a validated token yields them, for tests of services and rules without a server.
import type { Credentials } from '../../src/identity/index.ts';

/** A caller with these roles, scoped to `projectId` (null: unscoped); admin when `admin` is among the roles. */
export function testCredentials(userId: string, projectId: string | null, roles: string[]): Credentials {
  return {
    userId,
    userName: userId,
    domainId: 'default',
    projectId,
    projectName: projectId,
    roles,
    isAdmin: roles.includes('admin'),
    methods: ['password'],
    issuedAt: '2024-03-01T10:00:00.000Z',
    expiresAt: '2099-03-01T10:00:00.000Z',
  };
}
