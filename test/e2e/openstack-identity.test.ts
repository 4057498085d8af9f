// Drives the real `openstack` client's identity commands against imagetrust's Keystone: tokens,
// project lists (admin and not), password changes, domains, project tags, system role assignments,
// groups with their role assignments, and domain-scoped tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

describe('the openstack client on identity', () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  const openstack = (args: string[], as: Record<string, string> = {}) =>
    runOk('openstack', args, { ...env, ...as });
  const json = async (args: string[], as: Record<string, string> = {}) =>
    JSON.parse(await openstack([...args, '-f', 'json'], as));

  before(async () => {
    requireTool('openstack', 'python3-openstackclient');
    t = await startTestServer();
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-osc-identity-'));
    env = clientEnvironment(t.url, work);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('issues a token and lists projects as an admin; a member is refused the list but has its own', async () => {
    const token = await json(['token', 'issue']);
    assert.ok(token.id);
    assert.ok(token.project_id);
    const projects = await json(['project', 'list']);
    assert.ok(projects.some((p: { Name: string }) => p.Name === 'admin'));

    const member = await t.addUser('osc-member', 'member');
    const as = {
      OS_USERNAME: 'osc-member',
      OS_PASSWORD: member.password,
      OS_PROJECT_NAME: 'osc-member-project',
    };
    // The client asks GET /v3/projects, and on Keystone's 403 lists the user's own projects instead.
    const listed = await json(['project', 'list'], as);
    assert.deepEqual(
      listed.map((p: { Name: string }) => p.Name),
      ['osc-member-project'],
    );
    const mine = await json(['project', 'list', '--my-projects'], as);
    assert.deepEqual(
      mine.map((p: { Name: string }) => p.Name),
      ['osc-member-project'],
    );
  });

  it('changes its own password with `openstack user password set`', async () => {
    const user = await t.addUser('osc-pw', 'member');
    const as = { OS_USERNAME: 'osc-pw', OS_PASSWORD: user.password, OS_PROJECT_NAME: 'osc-pw-project' };
    await openstack(
      ['user', 'password', 'set', '--original-password', user.password, '--password', 'osc-pw-new'],
      as,
    );
    const old = await run('openstack', ['token', 'issue'], { ...env, ...as });
    assert.notEqual(old.code, 0);
    const fresh = await json(['token', 'issue'], { ...as, OS_PASSWORD: 'osc-pw-new' });
    assert.equal(fresh.user_id, user.userId);
  });

  it('creates, lists, disables and deletes a domain with a project in it', async () => {
    const domain = await json(['domain', 'create', '--description', 'lab domain', 'osc-lab']);
    assert.equal(domain.name, 'osc-lab');
    assert.equal(domain.enabled, true);
    const domains = await json(['domain', 'list']);
    assert.deepEqual(domains.map((d: { Name: string }) => d.Name).sort(), ['Default', 'osc-lab']);
    const project = await json(['project', 'create', '--domain', 'osc-lab', '--tag', 'blue', 'osc-bench']);
    assert.equal(project.domain_id, domain.id);
    assert.deepEqual(project.tags, ['blue']);
    const tagged = await json(['project', 'list', '--tags', 'blue']);
    assert.deepEqual(
      tagged.map((p: { Name: string }) => p.Name),
      ['osc-bench'],
    );
    const refused = await run('openstack', ['domain', 'delete', 'osc-lab'], env);
    assert.notEqual(refused.code, 0);
    await openstack(['domain', 'set', '--disable', 'osc-lab']);
    await openstack(['domain', 'delete', 'osc-lab']);
    assert.deepEqual(
      (await json(['domain', 'list'])).map((d: { Name: string }) => d.Name),
      ['Default'],
    );
    const gone = await run('openstack', ['project', 'show', project.id], env);
    assert.notEqual(gone.code, 0);
  });

  it('grants a system role with `openstack role add --system all`, and the user gets a system-scoped token', async () => {
    await json(['user', 'create', '--password', 'sys-pw', 'osc-system']);
    await openstack(['role', 'add', '--system', 'all', '--user', 'osc-system', 'reader']);
    const assignments = await json(['role', 'assignment', 'list', '--system', 'all', '--names']);
    assert.ok(
      assignments.some(
        (a: { User: string; Role: string; System: string }) =>
          a.User.startsWith('osc-system') && a.Role === 'reader' && a.System === 'all',
      ),
      JSON.stringify(assignments),
    );
    const system = {
      OS_USERNAME: 'osc-system',
      OS_PASSWORD: 'sys-pw',
      OS_PROJECT_NAME: '',
      OS_PROJECT_DOMAIN_NAME: '',
      OS_SYSTEM_SCOPE: 'all',
    };
    const token = await json(['token', 'issue'], system);
    assert.ok(token.id);
    assert.equal(token.project_id, undefined);
    // A system reader lists every project.
    const projects = await json(['project', 'list'], system);
    assert.ok(projects.some((p: { Name: string }) => p.Name === 'admin'));
    await openstack(['role', 'remove', '--system', 'all', '--user', 'osc-system', 'reader']);
    const revoked = await run('openstack', ['token', 'issue'], { ...env, ...system });
    assert.notEqual(revoked.code, 0);
  });

  it('gives a group a role with `openstack role add --group`, and its member a token through it', async () => {
    await json(['domain', 'create', 'osc-lab']);
    await json(['project', 'create', '--domain', 'osc-lab', 'osc-lab-project']);
    await json(['user', 'create', '--password', 'grp-pw', 'osc-grouped']);
    await json(['group', 'create', '--domain', 'osc-lab', 'osc-builders']);
    await openstack(['group', 'add', 'user', '--group-domain', 'osc-lab', 'osc-builders', 'osc-grouped']);
    const contains = await openstack([
      'group',
      'contains',
      'user',
      '--group-domain',
      'osc-lab',
      'osc-builders',
      'osc-grouped',
    ]);
    assert.match(contains, /osc-grouped in group osc-builders/);
    const grant = ['--group', 'osc-builders', '--group-domain', 'osc-lab'];
    await openstack([
      'role',
      'add',
      ...grant,
      '--project',
      'osc-lab-project',
      '--project-domain',
      'osc-lab',
      'member',
    ]);
    await openstack(['role', 'add', ...grant, '--domain', 'osc-lab', 'reader']);
    const assignments = await json([
      'role',
      'assignment',
      'list',
      '--group',
      'osc-builders',
      '--group-domain',
      'osc-lab',
      '--names',
    ]);
    assert.deepEqual(
      assignments
        .map((a: { Role: string; Project: string; Domain: string }) => `${a.Role}@${a.Project || a.Domain}`)
        .sort(),
      ['member@osc-lab-project@osc-lab', 'reader@osc-lab'],
    );
    const effective = await json([
      'role',
      'assignment',
      'list',
      '--user',
      'osc-grouped',
      '--effective',
      '--names',
    ]);
    assert.deepEqual(effective.map((a: { Role: string }) => a.Role).sort(), ['member', 'reader', 'reader']);
    const user = { OS_USERNAME: 'osc-grouped', OS_PASSWORD: 'grp-pw' };
    const onProject = await json(['token', 'issue'], {
      ...user,
      OS_PROJECT_NAME: 'osc-lab-project',
      OS_PROJECT_DOMAIN_NAME: 'osc-lab',
    });
    assert.ok(onProject.project_id);
    const onDomain = await json(['token', 'issue'], {
      ...user,
      OS_PROJECT_NAME: '',
      OS_PROJECT_DOMAIN_NAME: '',
      OS_DOMAIN_NAME: 'osc-lab',
    });
    assert.ok(onDomain.domain_id);
    assert.equal(onDomain.project_id, undefined);
    await openstack(['group', 'remove', 'user', '--group-domain', 'osc-lab', 'osc-builders', 'osc-grouped']);
    const refused = await run('openstack', ['token', 'issue'], {
      ...env,
      ...user,
      OS_PROJECT_NAME: 'osc-lab-project',
      OS_PROJECT_DOMAIN_NAME: 'osc-lab',
    });
    assert.notEqual(refused.code, 0);
  });
});
