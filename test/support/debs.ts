// Debian packages as test fixtures: `apt-get download` once into a cache keyed by package name and
// version, then `dpkg-deb -x` into a temporary directory. Fails with what to install or run; never skips.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { requireTool } from './tools.ts';

export const DEB_CACHE = process.env.IMAGETRUST_DEB_CACHE ?? '/var/cache/imagetrust-fixtures/posture';

function candidateVersion(name: string): string | undefined {
  try {
    const out = execFileSync('apt-cache', ['show', '--no-all-versions', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /^Version: (.+)$/m.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** The .deb of a package's candidate version, downloaded once; runs `apt-get update` when the lists lack it. */
export function fetchDeb(name: string, cache: string = DEB_CACHE): string {
  requireTool('apt-get', 'apt');
  requireTool('dpkg-deb', 'dpkg');
  let version = candidateVersion(name);
  if (!version) {
    if (process.getuid?.() !== 0)
      throw new Error(
        `apt-cache does not know ${name}: run 'sudo apt-get update' (the test downloads it from the Debian mirror).`,
      );
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    version = candidateVersion(name);
    if (!version)
      throw new Error(
        `apt-cache does not know ${name} even after apt-get update: is the Debian mirror configured?`,
      );
  }
  const key = `${name}_${version.replace(/:/g, '%3a')}`;
  const dir = path.join(cache, key);
  const existing = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.deb')) : undefined;
  if (existing) return path.join(dir, existing);
  mkdirSync(dir, { recursive: true });
  const partial = `${dir}.partial`;
  mkdirSync(partial, { recursive: true });
  try {
    execFileSync('apt-get', ['download', `${name}=${version}`], {
      cwd: partial,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    throw new Error(
      `apt-get download ${name}=${version} failed (the Debian mirror must be reachable once; the .deb is then cached in ${cache}): ${(error as { stderr?: Buffer }).stderr?.toString() ?? error}`,
    );
  }
  const deb = readdirSync(partial).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${name} left no .deb`);
  renameSync(path.join(partial, deb), path.join(dir, deb));
  rmSync(partial, { recursive: true, force: true });
  return path.join(dir, deb);
}

/** Unpacks the package's files (`dpkg-deb -x`) and its maintainer scripts (`-e`, into DEBIAN/<name>/). */
export function extractDeb(deb: string, into: string, name: string): void {
  execFileSync('dpkg-deb', ['-x', deb, into]);
  mkdirSync(path.join(into, 'DEBIAN'), { recursive: true });
  execFileSync('dpkg-deb', ['-e', deb, path.join(into, 'DEBIAN', name)]);
}
