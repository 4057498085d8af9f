// Keystone v3 subset at /identity: version discovery, password/token authentication with a service
// catalog, token validation and revocation, and the user/project/role API the openstack client uses.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, NotFoundError } from '../errors/index.ts';
import {
  type AssignmentView,
  type Credentials,
  type GrantActor,
  type GrantRef,
  type GrantScope,
  type IdentityService,
  type Project,
  type Role,
  readAuthRequest,
  readDomainInput,
  readGroupInput,
  readPasswordChange,
  readProjectInput,
  readQueryBoolean,
  readRoleInput,
  readTag,
  readTagsBody,
  readUserInput,
  toDomainView,
  toGroupView,
  toProjectView,
  toRoleView,
  toUserView,
} from '../identity/index.ts';

interface IdentityRouteOptions {
  /** Authentication and tokens; its `directory` holds projects, users, roles and grants. Both authorize inside. */
  identity: IdentityService;
  baseUrl: (request: FastifyRequest) => string;
  /** Told of every failed password or token login (for the transparency log); never of the secret. */
  onLoginFailure?: (event: {
    userName: string | null;
    domain: string | null;
    method: string;
    reason: string;
  }) => Promise<void>;
}

const MEDIA_TYPES = [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }];

/** Keystone prints timestamps with microseconds. */
const keystoneTime = (iso: string) => iso.replace(/\.(\d{3})Z$/, '.$1000Z');

function versionDocument(base: string) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${base}/identity/v3/` }],
    'media-types': MEDIA_TYPES,
  };
}

/**
 * Query parameters as Keystone reads them (werkzeug's `args.get`): a repeated parameter counts with its
 * first value, so no filter ever receives a list.
 */
function queryOf(request: FastifyRequest): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(request.query as Record<string, string | string[]>).map(([key, value]) => [
      key,
      Array.isArray(value) ? value[0] : value,
    ]),
  );
}

function credentialsOf(request: FastifyRequest): Credentials {
  if (!request.credentials)
    throw new AuthError('UNAUTHENTICATED', 'The request you have made requires authentication.');
  return request.credentials;
}

export function registerIdentityRoutes(app: FastifyInstance, options: IdentityRouteOptions): void {
  const { identity } = options;
  const { directory, grants } = identity;
  const idBase = (request: FastifyRequest) => `${options.baseUrl(request)}/identity`;

  // Version discovery, GET and HEAD as Keystone answers both (HEAD: the same status, no body).
  const versions = async (request: FastifyRequest, reply: FastifyReply) =>
    reply.code(300).send({ versions: { values: [versionDocument(options.baseUrl(request))] } });
  const v3 = async (request: FastifyRequest) => ({ version: versionDocument(options.baseUrl(request)) });
  for (const path of ['/identity', '/identity/']) {
    app.get(path, versions);
    app.head(path, async (_request, reply) => reply.code(300).send());
  }
  for (const path of ['/identity/v3', '/identity/v3/']) {
    app.get(path, v3);
    app.head(path, async (_request, reply) => reply.code(200).send());
  }

  /** A domain as tokens name it, `{id, name}`; the id alone should it have gone. */
  const domainRef = async (id: string) => {
    const domain = await identity.repository.findDomain(id);
    return { id, name: domain?.name ?? id };
  };

  const tokenBody = async (request: FastifyRequest, credentials: Credentials) => {
    const base = options.baseUrl(request);
    const roles = await identity.rolesOf(credentials);
    const view: Record<string, unknown> = {
      methods: credentials.methods,
      user: {
        domain: await domainRef(credentials.domainId),
        id: credentials.userId,
        name: credentials.userName,
        password_expires_at: null,
      },
      audit_ids: credentials.auditIds ?? [],
      expires_at: keystoneTime(credentials.expiresAt),
      issued_at: keystoneTime(credentials.issuedAt),
    };
    if (credentials.projectId) {
      view.project = {
        domain: await domainRef(credentials.projectDomainId ?? credentials.domainId),
        id: credentials.projectId,
        name: credentials.projectName,
      };
      view.is_domain = false;
    }
    if (credentials.scopeDomainId) {
      view.domain = { id: credentials.scopeDomainId, name: credentials.scopeDomainName };
    }
    if (credentials.systemScope) view.system = { [credentials.systemScope]: true };
    if (credentials.projectId || credentials.systemScope || credentials.scopeDomainId) {
      view.roles = roles.map((role) => ({ id: role.id, name: role.name }));
      view.catalog = serviceCatalog(base);
    }
    return { token: view };
  };

  app.post('/identity/v3/auth/tokens', async (request, reply) => {
    const authRequest = readAuthRequest(request.body);
    let issued: Awaited<ReturnType<IdentityService['authenticate']>>;
    try {
      issued = await identity.authenticate(authRequest);
    } catch (error) {
      const refused = error instanceof AuthError || (authRequest.token && error instanceof NotFoundError);
      if (options.onLoginFailure && refused) {
        // readAuthRequest has checked every field's type: these are strings or absent.
        const user = authRequest.password?.user;
        await options.onLoginFailure({
          userName: user?.name ?? user?.id ?? null,
          domain: user?.domain?.name ?? user?.domain?.id ?? null,
          method: authRequest.password ? 'password' : 'token',
          reason: error.message,
        });
      }
      throw error;
    }
    reply.code(201).header('X-Subject-Token', issued.token);
    return tokenBody(request, issued.credentials);
  });

  // Keystone's self-service password change: no token and no rule, the original password is the proof
  // (a user whose password expired can still change it).
  app.post<{ Params: { id: string } }>('/identity/v3/users/:id/password', async (request, reply) => {
    const input = readPasswordChange(request.body);
    try {
      await identity.changePassword(request.params.id, input.originalPassword, input.password);
    } catch (error) {
      if (options.onLoginFailure && error instanceof AuthError) {
        await options.onLoginFailure({
          userName: request.params.id,
          domain: null,
          method: 'password',
          reason: error.message,
        });
      }
      throw error;
    }
    return reply.code(204).send();
  });

  const subjectToken = (request: FastifyRequest): string => {
    const token = request.headers['x-subject-token'];
    return typeof token === 'string' ? token : '';
  };
  const projectList = (request: FastifyRequest, projects: Project[]) => ({
    projects: projects.map((p) => toProjectView(p, idBase(request))),
    links: listLinks(request),
  });

  app.register(async (scoped) => {
    scoped.addHook('onRequest', async (request) => {
      if (request.method === 'POST' && request.url.split('?')[0] === '/identity/v3/auth/tokens') return;
      await app.authenticate(request);
    });

    scoped.get('/identity/v3/auth/tokens', async (request, reply) => {
      const token = subjectToken(request);
      const credentials = await identity.validateSubjectToken(credentialsOf(request), token);
      reply.header('X-Subject-Token', token);
      return tokenBody(request, credentials);
    });
    scoped.head('/identity/v3/auth/tokens', async (request, reply) => {
      await identity.checkSubjectToken(credentialsOf(request), subjectToken(request));
      return reply.code(200).send();
    });
    scoped.delete('/identity/v3/auth/tokens', async (request, reply) => {
      await identity.revokeSubjectToken(credentialsOf(request), subjectToken(request));
      return reply.code(204).send();
    });
    scoped.get('/identity/v3/auth/projects', async (request) =>
      projectList(request, await directory.listOwnProjects(credentialsOf(request))),
    );
    scoped.get('/identity/v3/auth/system', async (request) => ({
      system: (await directory.hasOwnSystemRoles(credentialsOf(request))) ? [{ all: true }] : [],
      links: { self: `${idBase(request)}/v3/auth/system` },
    }));
    // The domains the caller may scope a token to: no rule, as for its projects.
    scoped.get('/identity/v3/auth/domains', async (request) => {
      const domains = await grants.listOwnDomains(credentialsOf(request));
      return { domains: domains.map((d) => toDomainView(d, idBase(request))), links: listLinks(request) };
    });
    scoped.get('/identity/v3/auth/catalog', async (request) => ({
      catalog: serviceCatalog(options.baseUrl(request)),
    }));

    // Domains
    scoped.get('/identity/v3/domains', async (request) => {
      const q = queryOf(request);
      const domains = await directory.listDomains(credentialsOf(request), {
        name: q.name,
        enabled: readQueryBoolean(q.enabled, 'enabled'),
      });
      return { domains: domains.map((d) => toDomainView(d, idBase(request))), links: listLinks(request) };
    });
    scoped.post('/identity/v3/domains', async (request, reply) => {
      const domain = await directory.createDomain(credentialsOf(request), () =>
        readDomainInput(request.body),
      );
      return reply.code(201).send({ domain: toDomainView(domain, idBase(request)) });
    });
    scoped.get<{ Params: { id: string } }>('/identity/v3/domains/:id', async (request) => ({
      domain: toDomainView(
        await directory.getDomain(credentialsOf(request), request.params.id),
        idBase(request),
      ),
    }));
    scoped.patch<{ Params: { id: string } }>('/identity/v3/domains/:id', async (request) => {
      const updated = await directory.updateDomain(credentialsOf(request), request.params.id, () =>
        readDomainInput(request.body, true),
      );
      return { domain: toDomainView(updated, idBase(request)) };
    });
    scoped.delete<{ Params: { id: string } }>('/identity/v3/domains/:id', async (request, reply) => {
      await directory.deleteDomain(credentialsOf(request), request.params.id);
      return reply.code(204).send();
    });

    // Projects
    scoped.get('/identity/v3/projects', async (request) => {
      const q = queryOf(request);
      const tags = (key: string) => (q[key] === undefined ? undefined : q[key].split(','));
      const projects = await directory.listProjects(credentialsOf(request), {
        name: q.name,
        domainId: q.domain_id,
        enabled: readQueryBoolean(q.enabled, 'enabled'),
        isDomain: readQueryBoolean(q.is_domain, 'is_domain'),
        parentId: q.parent_id,
        tags: tags('tags'),
        tagsAny: tags('tags-any'),
        notTags: tags('not-tags'),
        notTagsAny: tags('not-tags-any'),
      });
      return projectList(request, projects);
    });

    // Project tags
    type TagParams = { Params: { id: string; tag: string } };
    scoped.get<{ Params: { id: string } }>('/identity/v3/projects/:id/tags', async (request) => ({
      tags: await directory.listProjectTags(credentialsOf(request), request.params.id),
      links: listLinks(request),
    }));
    scoped.put<{ Params: { id: string } }>('/identity/v3/projects/:id/tags', async (request) => ({
      tags: await directory.replaceProjectTags(credentialsOf(request), request.params.id, () =>
        readTagsBody(request.body),
      ),
      links: listLinks(request),
    }));
    scoped.delete<{ Params: { id: string } }>('/identity/v3/projects/:id/tags', async (request, reply) => {
      await directory.deleteProjectTags(credentialsOf(request), request.params.id);
      return reply.code(204).send();
    });
    const checkTag = async (request: FastifyRequest<TagParams>, reply: FastifyReply) => {
      await directory.checkProjectTag(credentialsOf(request), request.params.id, request.params.tag);
      return reply.code(204).send();
    };
    scoped.get<TagParams>('/identity/v3/projects/:id/tags/:tag', checkTag);
    scoped.head<TagParams>('/identity/v3/projects/:id/tags/:tag', checkTag);
    scoped.put<TagParams>('/identity/v3/projects/:id/tags/:tag', async (request, reply) => {
      await directory.addProjectTag(credentialsOf(request), request.params.id, () =>
        readTag(request.params.tag),
      );
      return reply
        .code(201)
        .header(
          'Location',
          `${idBase(request)}/v3/projects/${request.params.id}/tags/${encodeURIComponent(request.params.tag)}`,
        )
        .send();
    });
    scoped.delete<TagParams>('/identity/v3/projects/:id/tags/:tag', async (request, reply) => {
      await directory.deleteProjectTag(credentialsOf(request), request.params.id, request.params.tag);
      return reply.code(204).send();
    });
    scoped.post('/identity/v3/projects', async (request, reply) => {
      const project = await directory.createProject(credentialsOf(request), () =>
        readProjectInput(request.body),
      );
      return reply.code(201).send({ project: toProjectView(project, idBase(request)) });
    });
    scoped.get<{ Params: { id: string } }>('/identity/v3/projects/:id', async (request) => ({
      project: toProjectView(
        await directory.getProject(credentialsOf(request), request.params.id),
        idBase(request),
      ),
    }));
    scoped.patch<{ Params: { id: string } }>('/identity/v3/projects/:id', async (request) => {
      const updated = await directory.updateProject(credentialsOf(request), request.params.id, () =>
        readProjectInput(request.body, true),
      );
      return { project: toProjectView(updated, idBase(request)) };
    });
    scoped.delete<{ Params: { id: string } }>('/identity/v3/projects/:id', async (request, reply) => {
      await directory.deleteProject(credentialsOf(request), request.params.id);
      return reply.code(204).send();
    });

    // Users
    scoped.get('/identity/v3/users', async (request) => {
      const q = queryOf(request);
      const users = await directory.listUsers(credentialsOf(request), {
        name: q.name,
        domainId: q.domain_id,
        enabled: readQueryBoolean(q.enabled, 'enabled'),
      });
      return { users: users.map((u) => toUserView(u, idBase(request))), links: listLinks(request) };
    });
    scoped.post('/identity/v3/users', async (request, reply) => {
      const user = await directory.createUser(credentialsOf(request), () => readUserInput(request.body));
      return reply.code(201).send({ user: toUserView(user, idBase(request)) });
    });
    scoped.get<{ Params: { id: string } }>('/identity/v3/users/:id', async (request) => ({
      user: toUserView(await directory.getUser(credentialsOf(request), request.params.id), idBase(request)),
    }));
    scoped.patch<{ Params: { id: string } }>('/identity/v3/users/:id', async (request) => {
      const updated = await directory.updateUser(credentialsOf(request), request.params.id, () =>
        readUserInput(request.body, true),
      );
      return { user: toUserView(updated, idBase(request)) };
    });
    scoped.delete<{ Params: { id: string } }>('/identity/v3/users/:id', async (request, reply) => {
      await directory.deleteUser(credentialsOf(request), request.params.id);
      return reply.code(204).send();
    });
    scoped.get<{ Params: { id: string } }>('/identity/v3/users/:id/projects', async (request) =>
      projectList(request, await directory.listUserProjects(credentialsOf(request), request.params.id)),
    );

    // Roles
    scoped.get('/identity/v3/roles', async (request) => {
      const { name, domain_id: domainId } = queryOf(request);
      const roles = await directory.listRoles(credentialsOf(request), {
        name,
        domainId: domainId || undefined,
      });
      return { roles: roles.map((r) => toRoleView(r, idBase(request))), links: listLinks(request) };
    });
    scoped.post('/identity/v3/roles', async (request, reply) => {
      // Which rule applies depends on whether the body names a domain (read properly after the rule).
      const domainSpecific = Boolean(
        (request.body as { role?: { domain_id?: unknown } } | null)?.role?.domain_id,
      );
      const role = await directory.createRole(
        credentialsOf(request),
        () => readRoleInput(request.body),
        domainSpecific,
      );
      return reply.code(201).send({ role: toRoleView(role, idBase(request)) });
    });
    scoped.get<{ Params: { id: string } }>('/identity/v3/roles/:id', async (request) => ({
      role: toRoleView(await directory.getRole(credentialsOf(request), request.params.id), idBase(request)),
    }));
    scoped.patch<{ Params: { id: string } }>('/identity/v3/roles/:id', async (request) => {
      const role = await directory.updateRole(credentialsOf(request), request.params.id, () =>
        readRoleInput(request.body, true),
      );
      return { role: toRoleView(role, idBase(request)) };
    });
    scoped.delete<{ Params: { id: string } }>('/identity/v3/roles/:id', async (request, reply) => {
      await directory.deleteRole(credentialsOf(request), request.params.id);
      return reply.code(204).send();
    });

    type GrantParams = { Params: { project: string; user: string; role: string } };
    const grantOf = (request: FastifyRequest<GrantParams>): GrantRef => ({
      projectId: request.params.project,
      userId: request.params.user,
      roleId: request.params.role,
    });
    scoped.put<GrantParams>(
      '/identity/v3/projects/:project/users/:user/roles/:role',
      async (request, reply) => {
        await directory.createGrant(credentialsOf(request), grantOf(request));
        return reply.code(204).send();
      },
    );
    scoped.head<GrantParams>(
      '/identity/v3/projects/:project/users/:user/roles/:role',
      async (request, reply) => {
        await directory.checkGrant(credentialsOf(request), grantOf(request));
        return reply.code(204).send();
      },
    );
    scoped.delete<GrantParams>(
      '/identity/v3/projects/:project/users/:user/roles/:role',
      async (request, reply) => {
        await directory.revokeGrant(credentialsOf(request), grantOf(request));
        return reply.code(204).send();
      },
    );
    scoped.get<{ Params: { project: string; user: string } }>(
      '/identity/v3/projects/:project/users/:user/roles',
      async (request) => {
        const roles = await directory.listGrants(credentialsOf(request), {
          userId: request.params.user,
          projectId: request.params.project,
        });
        return { roles: roles.map((r) => toRoleView(r, idBase(request))), links: listLinks(request) };
      },
    );
    // System role assignments
    type SystemGrantParams = { Params: { user: string; role: string } };
    scoped.get<{ Params: { user: string } }>('/identity/v3/system/users/:user/roles', async (request) => {
      const roles = await directory.listSystemGrants(credentialsOf(request), request.params.user);
      return { roles: roles.map((r) => toRoleView(r, idBase(request))), links: listLinks(request) };
    });
    const checkSystemGrant = async (request: FastifyRequest<SystemGrantParams>, reply: FastifyReply) => {
      await directory.checkSystemGrant(credentialsOf(request), request.params.user, request.params.role);
      return reply.code(204).send();
    };
    scoped.get<SystemGrantParams>('/identity/v3/system/users/:user/roles/:role', checkSystemGrant);
    scoped.head<SystemGrantParams>('/identity/v3/system/users/:user/roles/:role', checkSystemGrant);
    scoped.put<SystemGrantParams>('/identity/v3/system/users/:user/roles/:role', async (request, reply) => {
      await directory.createSystemGrant(credentialsOf(request), request.params.user, request.params.role);
      return reply.code(204).send();
    });
    scoped.delete<SystemGrantParams>(
      '/identity/v3/system/users/:user/roles/:role',
      async (request, reply) => {
        await directory.revokeSystemGrant(credentialsOf(request), request.params.user, request.params.role);
        return reply.code(204).send();
      },
    );

    registerGrantRoutes(scoped, { identity, idBase, listLinks, domainRef });
  });

  function listLinks(request: FastifyRequest) {
    return { self: `${options.baseUrl(request)}${request.url}`, previous: null, next: null };
  }
}

/** The service catalog handed out with every project-scoped token. */
export function serviceCatalog(base: string): Record<string, unknown>[] {
  const entry = (type: string, name: string, path: string) => ({
    type,
    name,
    id: `${name}-service`,
    endpoints: (['public', 'internal', 'admin'] as const).map((iface) => ({
      id: `${name}-${iface}`,
      interface: iface,
      region: 'RegionOne',
      region_id: 'RegionOne',
      url: `${base}${path}`,
    })),
  });
  return [
    entry('identity', 'keystone', '/identity'),
    entry('image', 'glance', '/image'),
    entry('key-manager', 'barbican', '/key-manager'),
    entry('audit', 'imagetrust-audit', '/audit'),
  ];
}

interface GrantRouteContext {
  identity: IdentityService;
  idBase: (request: FastifyRequest) => string;
  listLinks: (request: FastifyRequest) => Record<string, unknown>;
  domainRef: (id: string) => Promise<{ id: string; name: string }>;
}

/**
 * Groups and their members, role assignments of users and groups on projects, domains and the system,
 * role inference rules, and GET /v3/role_assignments.
 */
function registerGrantRoutes(scoped: FastifyInstance, context: GrantRouteContext): void {
  const { identity, idBase, listLinks, domainRef } = context;
  const { grants } = identity;
  const groupList = (request: FastifyRequest, groups: Awaited<ReturnType<typeof grants.listGroups>>) => ({
    groups: groups.map((g) => toGroupView(g, idBase(request))),
    links: listLinks(request),
  });
  const roleList = (request: FastifyRequest, roles: Role[]) => ({
    roles: roles.map((r) => toRoleView(r, idBase(request))),
    links: listLinks(request),
  });
  const noContent = (reply: FastifyReply) => reply.code(204).send();

  // Groups
  scoped.get('/identity/v3/groups', async (request) => {
    const q = queryOf(request);
    return groupList(
      request,
      await grants.listGroups(credentialsOf(request), { name: q.name, domainId: q.domain_id }),
    );
  });
  scoped.post('/identity/v3/groups', async (request, reply) => {
    const group = await grants.createGroup(credentialsOf(request), () => readGroupInput(request.body));
    return reply.code(201).send({ group: toGroupView(group, idBase(request)) });
  });
  type Id = { Params: { id: string } };
  scoped.get<Id>('/identity/v3/groups/:id', async (request) => ({
    group: toGroupView(await grants.getGroup(credentialsOf(request), request.params.id), idBase(request)),
  }));
  scoped.patch<Id>('/identity/v3/groups/:id', async (request) => {
    const group = await grants.updateGroup(credentialsOf(request), request.params.id, () =>
      readGroupInput(request.body, true),
    );
    return { group: toGroupView(group, idBase(request)) };
  });
  scoped.delete<Id>('/identity/v3/groups/:id', async (request, reply) => {
    await grants.deleteGroup(credentialsOf(request), request.params.id);
    return noContent(reply);
  });
  scoped.get<Id>('/identity/v3/groups/:id/users', async (request) => {
    const users = await grants.listGroupUsers(credentialsOf(request), request.params.id);
    return { users: users.map((u) => toUserView(u, idBase(request))), links: listLinks(request) };
  });
  type Member = { Params: { group: string; user: string } };
  scoped.put<Member>('/identity/v3/groups/:group/users/:user', async (request, reply) => {
    await grants.addGroupUser(credentialsOf(request), request.params.group, request.params.user);
    return noContent(reply);
  });
  const checkMember = async (request: FastifyRequest<Member>, reply: FastifyReply) => {
    await grants.checkGroupUser(credentialsOf(request), request.params.group, request.params.user);
    return noContent(reply);
  };
  scoped.head<Member>('/identity/v3/groups/:group/users/:user', checkMember);
  scoped.get<Member>('/identity/v3/groups/:group/users/:user', checkMember);
  scoped.delete<Member>('/identity/v3/groups/:group/users/:user', async (request, reply) => {
    await grants.removeGroupUser(credentialsOf(request), request.params.group, request.params.user);
    return noContent(reply);
  });
  scoped.get<Id>('/identity/v3/users/:id/groups', async (request) =>
    groupList(request, await grants.listUserGroups(credentialsOf(request), request.params.id)),
  );

  // Assignments on projects and domains, of users and groups (users on projects: identity-routes above),
  // and of groups on the system.
  type Grant = { Params: { target: string; actor: string; role: string } };
  type GrantList = { Params: { target: string; actor: string } };
  const combos: { path: string; scope: GrantScope['type']; actor: GrantActor['type'] }[] = [
    { path: '/identity/v3/projects/:target/groups/:actor/roles', scope: 'project', actor: 'group' },
    { path: '/identity/v3/domains/:target/users/:actor/roles', scope: 'domain', actor: 'user' },
    { path: '/identity/v3/domains/:target/groups/:actor/roles', scope: 'domain', actor: 'group' },
    { path: '/identity/v3/system/groups/:actor/roles', scope: 'system', actor: 'group' },
  ];
  for (const combo of combos) {
    const of = (params: { target?: string; actor: string }) => ({
      actor: { type: combo.actor, id: params.actor } as GrantActor,
      scope: { type: combo.scope, id: params.target ?? 'all' } as GrantScope,
    });
    scoped.get<GrantList>(combo.path, async (request) => {
      const { actor, scope } = of(request.params);
      return roleList(request, await grants.listGrants(credentialsOf(request), actor, scope));
    });
    scoped.put<Grant>(`${combo.path}/:role`, async (request, reply) => {
      const { actor, scope } = of(request.params);
      await grants.createGrant(credentialsOf(request), actor, scope, request.params.role);
      return noContent(reply);
    });
    const check = async (request: FastifyRequest<Grant>, reply: FastifyReply) => {
      const { actor, scope } = of(request.params);
      await grants.checkGrant(credentialsOf(request), actor, scope, request.params.role);
      return noContent(reply);
    };
    scoped.head<Grant>(`${combo.path}/:role`, check);
    scoped.get<Grant>(`${combo.path}/:role`, check);
    scoped.delete<Grant>(`${combo.path}/:role`, async (request, reply) => {
      const { actor, scope } = of(request.params);
      await grants.revokeGrant(credentialsOf(request), actor, scope, request.params.role);
      return noContent(reply);
    });
  }

  // Role inference rules
  const roleRef = (request: FastifyRequest, role: Role) => ({
    id: role.id,
    links: { self: `${idBase(request)}/v3/roles/${role.id}` },
    name: role.name,
  });
  type Implication = { Params: { prior: string; implied: string } };
  const inference = (request: FastifyRequest<Implication>, prior: Role, implied: Role) => ({
    role_inference: { prior_role: roleRef(request, prior), implies: roleRef(request, implied) },
    links: { self: `${idBase(request)}/v3/roles/${prior.id}/implies/${implied.id}` },
  });
  scoped.get<{ Params: { prior: string } }>('/identity/v3/roles/:prior/implies', async (request) => {
    const { prior, implies } = await grants.listImplied(credentialsOf(request), request.params.prior);
    return {
      role_inference: {
        prior_role: roleRef(request, prior),
        implies: implies.map((r) => roleRef(request, r)),
      },
      links: { self: `${idBase(request)}/v3/roles/${prior.id}/implies` },
    };
  });
  scoped.put<Implication>('/identity/v3/roles/:prior/implies/:implied', async (request, reply) => {
    const rule = await grants.createImplication(
      credentialsOf(request),
      request.params.prior,
      request.params.implied,
    );
    return reply.code(201).send(inference(request, rule.prior, rule.implied));
  });
  scoped.get<Implication>('/identity/v3/roles/:prior/implies/:implied', async (request) => {
    const rule = await grants.getImplication(
      credentialsOf(request),
      request.params.prior,
      request.params.implied,
    );
    return inference(request, rule.prior, rule.implied);
  });
  scoped.head<Implication>('/identity/v3/roles/:prior/implies/:implied', async (request, reply) => {
    await grants.getImplication(
      credentialsOf(request),
      request.params.prior,
      request.params.implied,
      'identity:check_implied_role',
    );
    return noContent(reply);
  });
  scoped.delete<Implication>('/identity/v3/roles/:prior/implies/:implied', async (request, reply) => {
    await grants.deleteImplication(credentialsOf(request), request.params.prior, request.params.implied);
    return noContent(reply);
  });
  scoped.get('/identity/v3/role_inferences', async (request) => {
    const rules = await grants.listInferenceRules(credentialsOf(request));
    return {
      role_inferences: rules.map((r) => ({
        prior_role: roleRef(request, r.prior),
        implies: r.implies.map((i) => roleRef(request, i)),
      })),
      links: listLinks(request),
    };
  });

  scoped.get('/identity/v3/role_assignments', async (request) => {
    const q = queryOf(request);
    const names = 'include_names' in q && readQueryBoolean(q.include_names, 'include_names') !== false;
    const effective = 'effective' in q && readQueryBoolean(q.effective, 'effective') !== false;
    const found = await grants.listRoleAssignments(
      credentialsOf(request),
      {
        userId: q['user.id'] || undefined,
        groupId: q['group.id'] || undefined,
        projectId: q['scope.project.id'] || undefined,
        domainId: q['scope.domain.id'] || undefined,
        roleId: q['role.id'] || undefined,
        system: q['scope.system'] !== undefined ? true : undefined,
      },
      { includeNames: names, effective },
    );
    const assignments = await Promise.all(found.map((a) => renderAssignment(a, idBase(request), domainRef)));
    return { role_assignments: assignments, links: listLinks(request) };
  });
}

/** One assignment as Keystone renders it, its `assignment` link naming the stored grant it comes from. */
async function renderAssignment(
  a: AssignmentView,
  base: string,
  domainRef: (id: string) => Promise<{ id: string; name: string }>,
): Promise<Record<string, unknown>> {
  const named = async (name: string | undefined, domainId: string | undefined) =>
    name === undefined ? {} : { name, ...(domainId ? { domain: await domainRef(domainId) } : {}) };
  const n = a.names;
  const scope =
    a.scope.type === 'system'
      ? { system: { all: true } }
      : a.scope.type === 'project'
        ? { project: { id: a.scope.id, ...(await named(n?.project?.name, n?.project?.domain_id)) } }
        : { domain: { id: a.scope.id, ...(n?.domain ? { name: n.domain.name } : {}) } };
  const actor =
    a.actor.type === 'user'
      ? { user: { id: a.actor.id, ...(await named(n?.user?.name, n?.user?.domain_id)) } }
      : { group: { id: a.actor.id, ...(await named(n?.group?.name, n?.group?.domain_id)) } };
  const role: Record<string, unknown> = { id: a.role.id };
  if (n) {
    role.name = a.role.name;
    if (a.role.domain_id) role.domain = await domainRef(a.role.domain_id);
  }
  const where = a.scope.type === 'system' ? '/system' : `/${a.scope.type}s/${a.scope.id}`;
  const who = a.viaGroup ? `/groups/${a.viaGroup}` : `/${a.actor.type}s/${a.actor.id}`;
  const links: Record<string, string> = {
    assignment: `${base}/v3${where}${who}/roles/${(a.priorRole ?? a.role).id}`,
  };
  if (a.viaGroup) links.membership = `${base}/v3/groups/${a.viaGroup}/users/${a.actor.id}`;
  if (a.priorRole) links.prior_role = `${base}/v3/roles/${a.priorRole.id}`;
  return { role, ...actor, scope, links };
}
