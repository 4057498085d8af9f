// `imagetrust --version`: the package version and the git commit of the checkout it runs from, read at
// run time from .git (a worktree's .git file, loose refs or packed-refs), else "unknown".
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The repository root this file runs from (src/cli/ is two levels down). */
const ROOT = path.resolve(import.meta.dirname, '../..');

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The git directory of `root`: `.git` itself, or where a worktree's `.git` file points. */
function gitDirOf(root: string): string | null {
  const dotGit = path.join(root, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return dotGit;
  } catch {
    return null;
  }
  const pointer = /^gitdir: (.+)$/m.exec(readOrNull(dotGit) ?? '');
  return pointer ? path.resolve(root, pointer[1].trim()) : null;
}

/** The commit HEAD names in the checkout at `root`, or "unknown" when there is no readable git checkout. */
export function readBuildCommit(root: string = ROOT): string {
  const gitDir = gitDirOf(root);
  if (!gitDir) return 'unknown';
  const head = readOrNull(path.join(gitDir, 'HEAD'))?.trim() ?? '';
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return 'unknown';
  // A worktree keeps its HEAD but shares refs with the main repository (named in `commondir`).
  const common = readOrNull(path.join(gitDir, 'commondir'));
  const dirs = [gitDir, ...(common ? [path.resolve(gitDir, common.trim())] : [])];
  for (const dir of dirs) {
    const loose = readOrNull(path.join(dir, ref))?.trim();
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
    const packed = readOrNull(path.join(dir, 'packed-refs')) ?? '';
    for (const line of packed.split('\n')) {
      const [hash, name] = line.split(' ');
      if (name === ref && /^[0-9a-f]{40,64}$/.test(hash)) return hash;
    }
  }
  return 'unknown';
}

/** The package version from package.json. */
export function readPackageVersion(root: string = ROOT): string {
  const text = readOrNull(path.join(root, 'package.json'));
  return text ? String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown') : 'unknown';
}

/** What `imagetrust --version` prints. */
export function versionText(root: string = ROOT): string {
  return `imagetrust ${readPackageVersion(root)} (commit ${readBuildCommit(root)})\n`;
}
