// `imagetrust sysprep` end to end through bin/imagetrust: text lines, JSON, and the refusal's exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeSysprepFixtures, type SysprepFixtures } from '../../fixtures/sysprep-fixtures.ts';

const bin = fileURLToPath(new URL('../../../bin/imagetrust', import.meta.url));
const run = promisify(execFile);

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('imagetrust sysprep', () => {
  let fx: SysprepFixtures;
  before(async () => {
    fx = await makeSysprepFixtures();
  });
  after(async () => {
    await rm(fx.dir, { recursive: true, force: true });
  });

  it('prints one `<op>: <action> <path>` line per change on a qcow2 dry run and changes nothing', async () => {
    const digest = await sha256(fx.plantedQcow2);
    const { stdout } = await run(bin, [
      'sysprep',
      fx.plantedQcow2,
      '--dry-run',
      '--operations',
      'net-hwaddr,machine-id',
    ]);
    assert.deepEqual(stdout.trim().split('\n').slice(0, 3), [
      'net-hwaddr: write /etc/sysconfig/network-scripts/ifcfg-eth0',
      'machine-id: truncate /etc/machine-id',
      'machine-id: truncate /var/lib/dbus/machine-id',
    ]);
    assert.equal(await sha256(fx.plantedQcow2), digest);
  });

  it('exits 1 with SYSPREP_REFUSED when ssh-hostkeys has no regenerator', async () => {
    await assert.rejects(
      run(bin, ['sysprep', fx.plantedRaw, '--operations', 'ssh-hostkeys']),
      (error: unknown) => {
        const failed = error as { code?: number; stderr?: string };
        return failed.code === 1 && (failed.stderr ?? '').includes('[SYSPREP_REFUSED]');
      },
    );
  });

  it('reports the changes as JSON, and nothing on a second run', async () => {
    const args = ['sysprep', fx.plantedRaw, '--operations', 'user-account,disable-units', '--format', 'json'];
    const first = JSON.parse((await run(bin, args)).stdout) as { changes: { op: string; path: string }[] };
    assert.ok(first.changes.some((c) => c.op === 'disable-units' && c.path.endsWith('/autofs.service')));
    assert.ok(first.changes.some((c) => c.op === 'user-account' && c.path === '/etc/sudoers.d/vagrant'));
    const second = JSON.parse((await run(bin, args)).stdout) as { changes: unknown[] };
    assert.deepEqual(second.changes, []);
  });
});
