// `imagetrust -v` names the build's commit (read from .git at run time, "unknown" without one);
// `completion bash|zsh` and `man` are generated from the command tree and name every command.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandPath, groupCommands, leafCommands } from '../../src/cli/command-tree.ts';
import { createProgram } from '../../src/cli/program.ts';
import { readBuildCommit } from '../../src/cli/version.ts';
import { requireTool, run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;
const program = createProgram();
const leaves = leafCommands(program).map((command) => commandPath(command));
const COMMIT = 'a'.repeat(40);

describe('imagetrust --version', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-version-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the version and the commit of the checkout it runs from, with -v and --version', async () => {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    for (const flag of ['-v', '--version']) {
      const result = await run(BIN, [flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `imagetrust 0.1.0 (commit ${head})\n`);
    }
  });

  it('reads "unknown" without a .git, and follows a worktree .git file to loose or packed refs', () => {
    assert.equal(readBuildCommit(path.join(dir, 'no-git')), 'unknown');
    const common = path.join(dir, 'repo.git');
    const worktreeGit = path.join(common, 'worktrees', 'wt');
    mkdirSync(worktreeGit, { recursive: true });
    writeFileSync(path.join(worktreeGit, 'HEAD'), 'ref: refs/heads/topic\n');
    writeFileSync(path.join(worktreeGit, 'commondir'), '../..\n');
    writeFileSync(path.join(common, 'packed-refs'), `# pack-refs\n${COMMIT} refs/heads/topic\n`);
    const checkout = path.join(dir, 'wt');
    mkdirSync(checkout);
    writeFileSync(path.join(checkout, '.git'), `gitdir: ${worktreeGit}\n`);
    assert.equal(readBuildCommit(checkout), COMMIT);
    mkdirSync(path.join(common, 'refs', 'heads'), { recursive: true });
    writeFileSync(path.join(common, 'refs', 'heads', 'topic'), `${'b'.repeat(40)}\n`);
    assert.equal(readBuildCommit(checkout), 'b'.repeat(40));
  });
});

describe('imagetrust completion', () => {
  let script: string;
  before(async () => {
    const result = await run(BIN, ['completion', 'bash']);
    assert.equal(result.code, 0, result.stderr);
    script = result.stdout;
  });

  /** What bash would offer after typing `words` and then `current`. */
  const complete = (words: string[], current = '') => {
    const line = ['imagetrust', ...words, current];
    const program = `${script}\nCOMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _imagetrust; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', program], { encoding: 'utf8' }).split('\n').filter(Boolean);
  };

  it('offers every command under its group in bash', () => {
    for (const group of groupCommands(program)) {
      const words = commandPath(group).split(' ').slice(1);
      const offered = complete(words);
      for (const child of group.commands) assert.ok(offered.includes(child.name()), commandPath(child));
    }
  });

  it("offers a command's options and the choices of --format", () => {
    assert.ok(complete(['image', 'release', 'list'], '--').includes('--format'));
    assert.deepEqual(complete(['project', 'list', '-f']), ['table', 'value', 'json', 'yaml']);
  });

  it('names every command in the zsh script', async () => {
    const zsh = (await run(BIN, ['completion', 'zsh'])).stdout;
    assert.match(zsh, /^#compdef imagetrust\n/);
    for (const leaf of leaves) assert.ok(zsh.includes(`'${leaf.replace(/^imagetrust ?/, '')}')`), leaf);
  });

  it('refuses a shell it does not know as a usage error', async () => {
    assert.equal((await run(BIN, ['completion', 'fish'])).code, 2);
  });
});

describe('imagetrust man', () => {
  it('prints a roff page with a section per command, its formats and exit status', async () => {
    const result = await run(BIN, ['man']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\.TH IMAGETRUST 1 /);
    assert.match(result.stdout, /^\.SH EXIT STATUS$/m);
    const sections = [...result.stdout.matchAll(/^\.SS (.+)$/gm)].map((m) => m[1].replace(/\\-/g, '-'));
    assert.deepEqual(sections, leaves);
    // groff renders it without a warning (-ww turns every warning on).
    requireTool('groff', 'groff-base');
    const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], {
      input: result.stdout,
      encoding: 'utf8',
    });
    assert.equal(groff.status, 0);
    assert.equal(groff.stderr, '');
  });
});
