// Running the build's host tools: output in the stage log, coded failures that quote it, the package
// to install for a missing tool, cancellation that kills the child; and scripts run in an image root
// (a busybox tree here) in their own mount and PID namespaces, leaving no mount behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImageTrustError } from '../../../src/errors/index.ts';
import { runInImageRoot, runTool, StageLog } from '../../../src/pipeline/build/host.ts';

const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((path) => existsSync(path));
const APPLETS = ['sh', 'env', 'cat', 'ls', 'test', 'echo', 'sleep', 'tr', 'mount', 'false', 'true', 'rm'];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagetrust-host-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ImageTrustError, String(error));
    assert.equal(error.code, code);
    return true;
  };
}

/** PIDs of this process's children running `command` (from /proc, the host's view). */
async function childrenRunning(command: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').trim() === command) found.push(Number(name));
  }
  return found;
}

/** Polls until `condition` holds; the deadline only keeps a broken run from hanging. */
async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await condition()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('runTool', () => {
  it('writes the command line and its output to the stage log', async () => {
    const log = new StageLog(join(dir, 'logged.log'));
    await runTool('sh', ['-c', 'echo to-stdout; echo to-stderr >&2', 'two words'], { log });
    await log.close();
    const text = await readFile(log.path, 'utf8');
    assert.match(text, /^\$ sh -c .*"two words"$/m);
    assert.match(text, /^to-stdout$/m);
    assert.match(text, /^to-stderr$/m);
  });

  it('returns stdout instead of logging it when asked to capture', async () => {
    const log = new StageLog(join(dir, 'capture.log'));
    assert.equal(await runTool('sh', ['-c', 'echo captured'], { log, capture: true }), 'captured\n');
    await log.close();
    assert.doesNotMatch(await readFile(log.path, 'utf8'), /^captured$/m);
  });

  it("fails with BUILD_FAILED quoting the log's tail when the tool exits non-zero", async () => {
    // Repeated: the tail is read while the log stream may still be writing.
    for (let i = 0; i < 20; i++) {
      const log = new StageLog(join(dir, `fail-${i}.log`));
      await assert.rejects(
        runTool('sh', ['-c', `echo last-words-${i}; exit 3`], { log }),
        (error: unknown) => {
          hasCode('BUILD_FAILED')(error);
          assert.match((error as Error).message, new RegExp(`last-words-${i}`));
          return true;
        },
      );
      await log.close();
    }
  });

  it('names the package to install for a missing tool (TOOL_MISSING)', async () => {
    const log = new StageLog(join(dir, 'missing.log'));
    const empty = join(dir, 'empty-path');
    await mkdir(empty);
    await assert.rejects(runTool('mke2fs', ['-V'], { log, env: { PATH: empty } }), (error: unknown) => {
      hasCode('TOOL_MISSING')(error);
      assert.match((error as Error).message, /\be2fsprogs\b/);
      return true;
    });
    await log.close();
  });

  it('kills the tool when the build is cancelled', async () => {
    const log = new StageLog(join(dir, 'abort.log'));
    const controller = new AbortController();
    const running = runTool('sleep', ['30'], { log, signal: controller.signal });
    let pid = 0;
    await until(async () => {
      [pid = 0] = await childrenRunning('sleep 30');
      return pid > 0;
    }, 'sleep 30 runs');
    controller.abort();
    await assert.rejects(running, hasCode('BUILD_FAILED'));
    assert.ok(gone(pid), `sleep (pid ${pid}) is gone`);
    await log.close();
  });

  it('does not start the tool when the build was cancelled before', async () => {
    const log = new StageLog(join(dir, 'aborted.log'));
    const marker = join(dir, 'ran');
    await assert.rejects(
      runTool('sh', ['-c', `touch ${marker}`], { log, signal: AbortSignal.abort() }),
      hasCode('BUILD_FAILED'),
    );
    await log.close();
    assert.ok(!existsSync(marker), 'the tool ran although the build was already cancelled');
  });
});

describe('runInImageRoot', { skip: BUSYBOX ? false : 'busybox is not installed (busybox-static)' }, () => {
  let root: string;
  before(async () => {
    root = join(dir, 'image-root');
    for (const sub of ['proc', 'sys', 'dev', 'run', 'tmp', 'usr/bin', 'usr/sbin', 'root'])
      await mkdir(join(root, sub), { recursive: true });
    await copyFile(BUSYBOX as string, join(root, 'usr/bin/busybox'));
    for (const applet of APPLETS) await symlink('busybox', join(root, 'usr/bin', applet));
    await symlink('usr/bin', join(root, 'bin'));
  });

  /** Mount points at or under the image root, as this (the host's) mount namespace sees them. */
  async function mountsUnderRoot(): Promise<string[]> {
    const info = await readFile('/proc/self/mountinfo', 'utf8');
    return info
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point) => point && (point === root || point.startsWith(`${root}/`)));
  }

  it('runs the script as PID 1 of a new PID namespace, without the host processes', async () => {
    const log = new StageLog(join(dir, 'pid.log'));
    const out = await runInImageRoot(root, 'echo "pid=$$"; echo "init=$(tr "\\0" " " < /proc/1/cmdline)"\n', {
      log,
      capture: true,
    });
    await log.close();
    const hostInit = (await readFile('/proc/1/cmdline', 'utf8')).split('\0').join(' ');
    const seen = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    assert.equal(seen.pid, '1');
    assert.notEqual(seen.init, hostInit);
    assert.match(seen.init, /^\/bin\/sh -eu -s/);
  });

  it('shows the script the image root only, not the host', async () => {
    const log = new StageLog(join(dir, 'visible.log'));
    const out = await runInImageRoot(
      root,
      `for p in /work ${dir} /usr/bin/node /etc; do if test -e "$p"; then echo "visible $p"; fi; done; ls /\n`,
      { log, capture: true },
    );
    await log.close();
    assert.doesNotMatch(out, /visible/);
    assert.deepEqual(out.trim().split(/\s+/).sort(), [
      'bin',
      'dev',
      'proc',
      'root',
      'run',
      'sys',
      'tmp',
      'usr',
    ]);
  });

  it('mounts proc, sys, dev and tmp only in its own namespace, and leaves none behind', async () => {
    const log = new StageLog(join(dir, 'mounts.log'));
    // The script waits for the test to look at the host's mounts while it runs.
    const running = runInImageRoot(
      root,
      'test -e /dev/null; test -e /proc/self; echo x > /tmp/scratch; : > /root/ready\nwhile ! test -e /root/go; do sleep 0.05; done\nrm /root/ready /root/go\n',
      { log },
    );
    await until(() => existsSync(join(root, 'root/ready')), 'the script runs');
    assert.deepEqual(await mountsUnderRoot(), [], 'no mount of the build is visible on the host');
    await writeFile(join(root, 'root/go'), '');
    await running;
    await log.close();
    assert.deepEqual(await mountsUnderRoot(), []);
    assert.deepEqual(await readdir(join(root, 'tmp')), [], "the script's /tmp was its own tmpfs");
    assert.deepEqual(await readdir(join(root, 'dev')), []);
  });

  it('fails with BUILD_FAILED when the script fails, leaving no mount behind', async () => {
    const log = new StageLog(join(dir, 'script-fails.log'));
    await assert.rejects(
      runInImageRoot(root, 'echo about to fail\nfalse\necho not reached\n', { log }),
      hasCode('BUILD_FAILED'),
    );
    await log.close();
    const text = await readFile(log.path, 'utf8');
    assert.match(text, /about to fail/);
    assert.doesNotMatch(text, /not reached/);
    assert.deepEqual(await mountsUnderRoot(), []);
  });
});
