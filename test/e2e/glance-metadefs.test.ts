// Drives the real `glance` client's metadefs commands (python3-glanceclient, which also validates every
// answer against the schemas it fetches from us) against imagetrust loaded with Debian's glance-common
// definitions, and compares what it prints with the files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { debianMetadefDirectory, debianMetadefFiles } from '../support/glance-metadefs.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run, runOk } from '../support/tools.ts';

/** The first column of each data row of a glance table (rows that only continue a wrapped cell left out). */
function firstColumn(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => /^\|\s*(.*?)\s*\|/.exec(line)?.[1])
    .filter((cell): cell is string => cell !== undefined)
    .slice(1)
    .filter((cell) => cell !== '');
}

/** A two-column Property/Value table as a map (continuation lines joined). */
function table(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last = '';
  for (const line of text.split(/\r?\n/)) {
    const match = /^\|\s*(\S*)\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (!match || match[1] === 'Property') continue;
    if (match[1]) {
      last = match[1];
      fields[last] = match[2];
    } else if (last) fields[last] += ` ${match[2]}`;
  }
  return fields;
}

describe('the glance client metadefs commands against imagetrust', () => {
  let t: TestServer;
  let work: string;
  let env: Record<string, string>;
  const glance = (args: string[], extra: Record<string, string> = {}) =>
    runOk('glance', args, { ...env, ...extra });

  before(async () => {
    requireTool('glance', 'python3-glanceclient');
    t = await startTestServer({ metadefs: { directory: debianMetadefDirectory() } });
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-glance-md-'));
    env = clientEnvironment(t.url, work);
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('md-namespace-list lists every namespace of glance-common (the client follows our next links)', async () => {
    const listed = firstColumn(await glance(['md-namespace-list', '--page-size', '7']));
    const expected = [
      ...debianMetadefFiles().map((f) => f.document.namespace as string),
      'OS::ImageTrust::Image',
    ];
    assert.deepEqual([...listed].sort(), expected.sort());
    assert.equal(new Set(listed).size, listed.length, 'no namespace twice across pages');
  });

  it('md-namespace-show prints a namespace as its file describes it', async () => {
    const watchdog = debianMetadefFiles().find((f) => f.file === 'compute-watchdog.json')!.document;
    const shown = table(await glance(['md-namespace-show', 'OS::Compute::Watchdog']));
    assert.equal(shown.namespace, 'OS::Compute::Watchdog');
    assert.equal(shown.display_name, watchdog.display_name);
    assert.equal(shown.protected, 'True');
    assert.equal(shown.visibility, 'public');
    assert.deepEqual(JSON.parse(shown.properties), Object.keys(watchdog.properties as object));
    const prefixed = table(
      await glance(['md-namespace-show', 'OS::Compute::Watchdog', '--resource-type', 'OS::Nova::Flavor']),
    );
    assert.deepEqual(JSON.parse(prefixed.properties), ['hw:watchdog_action']);
  });

  it('md-object-list lists the objects of a namespace that has some', async () => {
    const withObjects = debianMetadefFiles().find(
      (f) => Array.isArray(f.document.objects) && (f.document.objects as unknown[]).length > 1,
    )!;
    const namespace = withObjects.document.namespace as string;
    const listed = firstColumn(await glance(['md-object-list', namespace]));
    const expected = (withObjects.document.objects as { name: string }[]).map((o) => o.name);
    assert.deepEqual([...listed].sort(), [...expected].sort());
  });

  it('creates a namespace, an object and tags as admin; a member is refused', async () => {
    await glance([
      'md-namespace-create',
      'Test::Client',
      '--visibility',
      'public',
      '--description',
      'from glance',
    ]);
    await glance([
      'md-object-create',
      'Test::Client',
      '--name',
      'o',
      '--schema',
      '{"description":"d","properties":{"p":{"title":"P","type":"string"}}}',
    ]);
    await glance(['md-tag-create-multiple', 'Test::Client', '--names', 'a,b']);
    const shown = table(await glance(['md-namespace-show', 'Test::Client']));
    assert.deepEqual(JSON.parse(shown.objects), ['o']);
    assert.deepEqual(JSON.parse(shown.tags).sort(), ['a', 'b']);
    await t.addUser('mia', 'member');
    const asMember = { OS_USERNAME: 'mia', OS_PASSWORD: 'mia-password', OS_PROJECT_NAME: 'mia-project' };
    const refused = await run('glance', ['md-namespace-create', 'Test::Mine'], { ...env, ...asMember });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403|Forbidden/);
    assert.deepEqual(firstColumn(await glance(['md-object-list', 'Test::Client'], asMember)), ['o']);
    await glance(['md-namespace-delete', 'Test::Client']);
    const gone = await run('glance', ['md-namespace-show', 'Test::Client'], env);
    assert.notEqual(gone.code, 0);
  });
});
