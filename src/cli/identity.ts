// `imagetrust user|project|role ...`: manage the identity store directly, without a running server.
import { readFileSync } from 'node:fs';
import { openServices, type Services } from '../app/index.ts';
import { ValidationError } from '../errors/index.ts';
import { type OutputFlags, printList, printResult } from './output.ts';
import { configFromFlags, type StoreFlags } from './store.ts';

interface FormatFlags extends StoreFlags, OutputFlags {}

async function withServices<T>(
  flags: StoreFlags,
  work: (services: Services) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const services = await openServices(configFromFlags(flags), options);
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

/** For listing: a store that does not exist is reported, never created. */
function withExistingStore<T>(flags: StoreFlags, work: (services: Services) => Promise<T>): Promise<T> {
  return withServices(flags, work, { readOnly: true });
}

function readPassword(flags: { password?: string; passwordFile?: string }): string | undefined {
  if (flags.passwordFile) return readFileSync(flags.passwordFile, 'utf8').split(/\r?\n/)[0];
  return flags.password ?? process.env.IMAGETRUST_USER_PASSWORD;
}

export async function createUser(
  name: string,
  flags: FormatFlags & { password?: string; passwordFile?: string; project?: string; email?: string },
) {
  await withServices(flags, async ({ identity }) => {
    const password = readPassword(flags);
    if (!password)
      throw new ValidationError(
        'BAD_REQUEST',
        'Give a password with --password-file, --password or $IMAGETRUST_USER_PASSWORD.',
      );
    const project = flags.project ? await identity.resolveProject(flags.project) : null;
    const user = await identity.createUser({
      name,
      password,
      defaultProjectId: project?.id ?? null,
      email: flags.email ?? null,
    });
    printResult(
      {
        id: user.id,
        name: user.name,
        enabled: user.enabled,
        default_project_id: user.default_project_id ?? null,
        email: user.email ?? null,
      },
      flags,
    );
  });
}

export async function setPassword(
  name: string,
  flags: StoreFlags & { password?: string; passwordFile?: string },
) {
  await withServices(flags, async ({ identity }) => {
    const password = readPassword(flags);
    if (!password)
      throw new ValidationError('BAD_REQUEST', 'Give the new password with --password-file or --password.');
    const user = await identity.resolveUser(name);
    await identity.updateUser(user.id, { password });
    process.stderr.write(`Password of ${user.name} changed.\n`);
  });
}

export async function listUsers(flags: FormatFlags) {
  await withExistingStore(flags, async ({ identity }) => {
    const users = await identity.repository.listUsers();
    printList(
      users.map((u) => ({
        id: u.id,
        name: u.name,
        enabled: u.enabled,
        default_project_id: u.default_project_id ?? null,
        email: u.email ?? null,
      })),
      ['id', 'name', 'enabled', 'default_project_id'],
      flags,
    );
  });
}

export async function createProject(name: string, flags: FormatFlags & { description?: string }) {
  await withServices(flags, async ({ identity }) => {
    const project = await identity.createProject({ name, description: flags.description });
    printResult(
      { id: project.id, name: project.name, enabled: project.enabled, description: project.description },
      flags,
    );
  });
}

export async function listProjects(flags: FormatFlags) {
  await withExistingStore(flags, async ({ identity }) => {
    const projects = await identity.repository.listProjects();
    printList(
      projects.map((p) => ({ id: p.id, name: p.name, enabled: p.enabled, description: p.description })),
      ['id', 'name', 'enabled'],
      flags,
    );
  });
}

export async function addRole(roleName: string, flags: StoreFlags & { user: string; project: string }) {
  await withServices(flags, async ({ identity }) => {
    const user = await identity.resolveUser(flags.user);
    const project = await identity.resolveProject(flags.project);
    await identity.grantRole(user.id, project.id, roleName);
    process.stderr.write(`Granted ${roleName} to ${user.name} on ${project.name}.\n`);
  });
}

export async function listRoles(flags: FormatFlags & { user?: string; project?: string }) {
  await withExistingStore(flags, async ({ identity }) => {
    if (flags.user || flags.project) {
      const userId = flags.user ? (await identity.resolveUser(flags.user)).id : undefined;
      const projectId = flags.project ? (await identity.resolveProject(flags.project)).id : undefined;
      const rows = await identity.repository.listAssignments({ userId, projectId });
      printList(
        rows.map((a) => ({ role: a.role.name, user_id: a.userId, project_id: a.projectId })),
        ['role', 'user_id', 'project_id'],
        flags,
      );
      return;
    }
    const roles = await identity.repository.listRoles();
    printList(
      roles.map((r) => ({ id: r.id, name: r.name })),
      ['id', 'name'],
      flags,
    );
  });
}
