// The build's stage cache: entries appear only when complete, a failed stage leaves nothing, temporaries
// of dead builds are swept, and keys depend on the inputs' values only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { StageCache, stageKey } from '../../../src/pipeline/build/index.ts';

const KEY = 'a'.repeat(64);
let dir: string;

beforeEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), 'imagetrust-stages-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A PID that was used and is now free: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('close', resolve));
  assert.ok(child.pid);
  return child.pid;
}

/** A temporary as a build leaves it: its owner's PID is part of its name. */
async function temporary(stage: string, tag: string, owner: number): Promise<string> {
  const path = join(dir, stage, `.tmp-${owner}-${KEY.slice(0, 12)}-${tag}`);
  await mkdir(path, { recursive: true });
  return path;
}

describe('StageCache', () => {
  it('finds an entry once it has been made, with what make wrote', async () => {
    const cache = new StageCache(dir);
    assert.equal(await cache.find('bootstrap', KEY), null);
    const made = await cache.make('bootstrap', KEY, (temp) => writeFile(join(temp, 'base.tar'), 'tar'));
    assert.equal(await cache.find('bootstrap', KEY), made);
    assert.equal(await readFile(join(made, 'base.tar'), 'utf8'), 'tar');
    assert.equal(await cache.find('customize', KEY), null);
  });

  it('leaves neither an entry nor a temporary when make fails', async () => {
    const cache = new StageCache(dir);
    await assert.rejects(
      cache.make('disk', KEY, async (temp) => {
        await writeFile(join(temp, 'disk.raw'), 'half');
        throw new Error('mke2fs failed');
      }),
      /mke2fs failed/,
    );
    assert.equal(await cache.find('disk', KEY), null);
    assert.deepEqual(await readdir(join(dir, 'disk')), []);
  });

  it("sweeps a dead build's temporary at the next make and keeps a live build's", async () => {
    const dead = await temporary('customize', 'dead', await deadPid());
    const live = await temporary('customize', 'live', process.ppid);
    const cache = new StageCache(dir);
    await cache.make('customize', 'b'.repeat(64), async () => {});
    const names = await readdir(join(dir, 'customize'));
    assert.ok(!names.includes(dead.split('/').pop() as string), 'the dead build is swept');
    assert.ok(names.includes(live.split('/').pop() as string), 'the live build is kept');
    assert.ok(names.includes('b'.repeat(64)));
  });

  it('keeps an entry another build of the same key finished first, which someone may be reading', async () => {
    const cache = new StageCache(dir);
    const first = await cache.make('disk', KEY, (temp) => writeFile(join(temp, 'which'), 'first'));
    const second = await cache.make('disk', KEY, (temp) => writeFile(join(temp, 'which'), 'second'));
    assert.equal(second, first);
    assert.equal(await readFile(join(second, 'which'), 'utf8'), 'first');
    assert.deepEqual(await readdir(join(dir, 'disk')), [KEY]);
  });
});

describe('stageKey', () => {
  it('does not depend on the order of keys, at any depth', () => {
    assert.equal(
      stageKey({ suite: 'bookworm', packages: ['a', 'b'], nested: { x: 1, y: [{ p: 1, q: 2 }] } }),
      stageKey({ nested: { y: [{ q: 2, p: 1 }], x: 1 }, packages: ['a', 'b'], suite: 'bookworm' }),
    );
  });

  it('changes when any value changes, array order included', () => {
    const base = { suite: 'bookworm', packages: ['a', 'b'], nested: { x: 1, flag: true, none: null } };
    const key = stageKey(base);
    for (const changed of [
      { ...base, suite: 'trixie' },
      { ...base, packages: ['b', 'a'] },
      { ...base, packages: ['a', 'b', 'c'] },
      { ...base, nested: { ...base.nested, x: 2 } },
      { ...base, nested: { ...base.nested, flag: false } },
      { ...base, nested: { ...base.nested, none: 0 } },
      { ...base, extra: 1 },
    ]) {
      assert.notEqual(stageKey(changed), key, JSON.stringify(changed));
    }
  });

  it('keys a Buffer by its digest: equal bytes, equal key; one byte changed, another key', () => {
    const keyring = Buffer.from('keyring bytes');
    assert.equal(stageKey({ keyring }), stageKey({ keyring: Buffer.from('keyring bytes') }));
    assert.notEqual(stageKey({ keyring }), stageKey({ keyring: Buffer.from('keyring byteS') }));
    // A Buffer is not its JSON form: the key is the digest, not the byte list.
    assert.notEqual(stageKey({ keyring }), stageKey({ keyring: keyring.toJSON() }));
  });
});
