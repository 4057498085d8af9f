// Where the CLI's credentials come from: flags over the environment over the clouds.yaml entry named by
// --os-cloud/OS_CLOUD, read from the paths openstacksdk reads.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveAuthOptions } from '../../src/client/index.ts';

describe('resolveAuthOptions with clouds.yaml', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imagetrust-clouds-'));
    await writeFile(
      path.join(dir, 'clouds.yaml'),
      [
        'clouds:',
        '  lab:',
        '    auth:',
        '      auth_url: https://lab.example:5000/v3',
        '      username: alice',
        '      password: from-the-file',
        '      project_name: demo',
        '    region_name: RegionTwo',
        '    interface: internal',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(dir, 'broken.yaml'), 'clouds:\n  lab: [unclosed\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const home = () => path.join(dir, 'no-home');

  it('reads the named cloud from clouds.yaml in the working directory', () => {
    const options = resolveAuthOptions({ osCloud: 'lab' }, { HOME: home() }, dir);
    assert.equal(options.authUrl, 'https://lab.example:5000/v3');
    assert.equal(options.username, 'alice');
    assert.equal(options.password, 'from-the-file');
    assert.equal(options.projectName, 'demo');
    assert.equal(options.regionName, 'RegionTwo');
    assert.equal(options.interface, 'internal');
  });

  it('lets the environment and then a flag override the file', () => {
    const env = { HOME: home(), OS_CLOUD: 'lab', OS_PASSWORD: 'from-env', OS_USERNAME: 'bob' };
    const fromEnv = resolveAuthOptions({}, env, dir);
    assert.equal(fromEnv.password, 'from-env');
    assert.equal(fromEnv.username, 'bob');
    assert.equal(resolveAuthOptions({ osUsername: 'carol' }, env, dir).username, 'carol');
  });

  it('names the files it looked in when the cloud is not there', () => {
    assert.throws(
      () => resolveAuthOptions({ osCloud: 'nowhere' }, { HOME: home() }, dir),
      (error: Error & { code?: string }) =>
        error.code === 'CONFIG_INVALID' &&
        error.message.includes("Cloud 'nowhere' was not found") &&
        error.message.includes(path.join(dir, 'clouds.yaml')),
    );
  });

  it('refuses a clouds.yaml that is not valid YAML, naming the file', () => {
    const env = { HOME: home(), OS_CLIENT_CONFIG_FILE: path.join(dir, 'broken.yaml') };
    assert.throws(
      () => resolveAuthOptions({ osCloud: 'lab' }, env, dir),
      (error: Error & { code?: string }) =>
        error.code === 'CONFIG_INVALID' &&
        error.message.startsWith(`${path.join(dir, 'broken.yaml')} is not valid YAML`),
    );
  });
});
