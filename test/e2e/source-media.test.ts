// `imagetrust source fetch|verify` end to end: a local HTTP mirror serves an ISO-sized file with Range
// support, checksum lists and detached signatures made by the real `gpg`; good media is cached, every
// kind of mismatch is refused with exit 1 and leaves nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireTool, run } from '../support/tools.ts';

const CLI = fileURLToPath(new URL('../../bin/imagetrust', import.meta.url));
const ISO_SIZE = 64 << 20;
const ISO = 'debian-12.4.0-amd64-netinst.iso';

/** A throwaway GnuPG home with one Ed25519 signing key. */
class Gpg {
  readonly home: string;

  constructor(dir: string, email: string) {
    this.home = path.join(dir, `gnupg-${email}`);
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    this.gpg('--quick-gen-key', `Source Test <${email}>`, 'ed25519', 'sign', 'never');
  }

  gpg(...args: string[]): Buffer {
    return execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: this.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** `gpg --detach-sign` over `file`, written next to it as `output`. */
  detachSign(file: string, output: string, armor = false): void {
    this.gpg('--yes', ...(armor ? ['--armor'] : []), '--output', output, '--detach-sign', file);
  }

  stop(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: this.home } });
    } catch {
      // No agent left running is the goal; one that is already gone is fine.
    }
  }
}

/** A mirror over a directory: Range support, request counting, and a one-shot cut of a response mid-way. */
class Mirror {
  readonly requests: { path: string; range?: string }[] = [];
  readonly #server: Server;
  #cuts = new Map<string, number>();

  constructor(root: string) {
    this.#server = createServer((request, response) => {
      const url = request.url ?? '/';
      this.requests.push({ path: url, range: request.headers.range });
      const file = path.join(root, decodeURIComponent(url));
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        response.writeHead(404).end();
        return;
      }
      let start = 0;
      const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      if (range) {
        start = Number(range[1]);
        if (start >= size) {
          response.writeHead(416, { 'content-range': `bytes */${size}` }).end();
          return;
        }
        response.writeHead(206, {
          'content-length': size - start,
          'content-range': `bytes ${start}-${size - 1}/${size}`,
          'accept-ranges': 'bytes',
        });
      } else {
        response.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
      }
      const cuts = this.#cuts.get(url) ?? 0;
      if (cuts > 0) {
        this.#cuts.set(url, cuts - 1);
        // Send about half, then drop the connection as a flaky mirror does.
        const half = createReadStream(file, { start, end: start + Math.floor((size - start) / 2) });
        half.on('data', (chunk) => response.write(chunk));
        half.on('end', () => setTimeout(() => request.socket.destroy(), 50));
        return;
      }
      createReadStream(file, { start }).pipe(response);
    });
  }

  /** The next `times` responses for `url` stop half-way. */
  cutResponses(url: string, times = 1): void {
    this.#cuts.set(url, times);
  }

  count(url: string): number {
    return this.requests.filter((r) => r.path === url).length;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Every regular file under `dir` (relative paths); none when it does not exist. */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
  } catch {
    return [];
  }
}

describe('imagetrust source fetch and verify', { timeout: 300_000 }, () => {
  let work: string;
  let root: string;
  let mirror: Mirror;
  let base: string;
  let signer: Gpg;
  let stranger: Gpg;
  let keyring: string;
  let strangerKeyring: string;
  let sha256: string;
  let sha512: string;
  let caches = 0;

  const file = (name: string) => path.join(root, name);
  const freshCache = () => path.join(work, `cache-${++caches}`);

  /** Writes a list into the mirror and signs it with `by` as `<name>.gpg`. */
  function publishList(name: string, text: string, by: Gpg = signer): void {
    writeFileSync(file(name), text);
    by.detachSign(file(name), file(`${name}.gpg`));
  }

  function fetch(
    url: string,
    options: { list: string; signature?: string; keyring?: string; cache: string },
  ) {
    return run(CLI, [
      'source',
      'fetch',
      url,
      '--checksums',
      options.list,
      '--signature',
      options.signature ?? `${options.list}.gpg`,
      '--keyring',
      options.keyring ?? keyring,
      '--cache-dir',
      options.cache,
      '--format',
      'json',
    ]);
  }

  before(() => {
    requireTool('gpg', 'gnupg');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-source-'));
    root = path.join(work, 'mirror');
    mkdirSync(path.join(root, 'corrupt'), { recursive: true });
    signer = new Gpg(work, 'release@example.test');
    stranger = new Gpg(work, 'stranger@example.test');
    keyring = path.join(work, 'release-keys.gpg');
    writeFileSync(keyring, signer.gpg('--export'));
    strangerKeyring = path.join(work, 'stranger-keys.asc');
    writeFileSync(strangerKeyring, stranger.gpg('--armor', '--export'));

    const iso = randomBytes(ISO_SIZE);
    writeFileSync(file(ISO), iso);
    sha256 = createHash('sha256').update(iso).digest('hex');
    sha512 = createHash('sha512').update(iso).digest('hex');
    // The same name, one byte flipped in the middle: what a tampering mirror or a bad disk serves.
    iso[ISO_SIZE / 2] ^= 0xff;
    writeFileSync(path.join(root, 'corrupt', ISO), iso);
    writeFileSync(file('README'), 'hello\n');
    const readme = createHash('sha256').update('hello\n').digest('hex');

    publishList('SHA256SUMS', `${readme}  README\n${sha256} *${ISO}\n`);
    publishList('SHA512SUMS', `${sha512}  ${ISO}\n`);
    publishList('BSDSUMS', `SHA256 (README) = ${readme}\nSHA256 (${ISO}) = ${sha256}\n`);
    publishList('OTHERSUMS', `${readme}  README\n`);
    publishList('STRANGERSUMS', `${sha256}  ${ISO}\n`, stranger);
    publishList('HOSTILESUMS', `${sha256}  ../../../escape.iso\n${sha256}  /tmp/escape.iso\n`);
    // A list that claims another digest, served with the genuine list's signature.
    writeFileSync(file('SWAPPEDSUMS'), `${readme}  README\n${'0'.repeat(64)} *${ISO}\n`);
    writeFileSync(file('SWAPPEDSUMS.gpg'), readFileSync(file('SHA256SUMS.gpg')));
  });

  before(async () => {
    mirror = new Mirror(root);
    base = await mirror.start();
  });

  after(async () => {
    await mirror?.stop();
    signer?.stop();
    stranger?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('fetches a file its signed SHA256SUMS vouches for into the content-addressed cache', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/SHA256SUMS`, cache });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.verified, true);
    assert.equal(out.fromCache, false);
    assert.equal(out.path, path.join(cache, 'sha256', sha256));
    assert.equal(statSync(out.path).size, ISO_SIZE);
    assert.equal(statSync(out.path).mode & 0o777, 0o444);
    assert.deepEqual(filesUnder(path.join(cache, 'partial')), []);
    const index = JSON.parse(readFileSync(path.join(cache, 'index.json'), 'utf8'));
    assert.equal(index.sources[`${base}/${ISO}`].hex, sha256);

    // The second fetch of the same URL and digest is served from the cache: no data request at all.
    const before = mirror.count(`/${ISO}`);
    const again = await fetch(`${base}/${ISO}`, { list: `${base}/SHA256SUMS`, cache });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).fromCache, true);
    assert.equal(JSON.parse(again.stdout).path, out.path);
    assert.equal(mirror.count(`/${ISO}`), before);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const cache = freshCache();
    mirror.cutResponses(`/${ISO}`);
    const start = mirror.requests.length;
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/SHA256SUMS`, cache });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.resumed, true);
    assert.equal(out.requests, 2);
    const data = mirror.requests.slice(start).filter((r) => r.path === `/${ISO}`);
    assert.equal(data.length, 2);
    assert.equal(data[0].range, undefined);
    assert.match(data[1].range ?? '', /^bytes=[1-9]\d*-$/);
    assert.equal(statSync(out.path).size, ISO_SIZE);
  });

  it('keeps the .part when every attempt is cut off, and the next run resumes from it', async () => {
    const cache = freshCache();
    mirror.cutResponses(`/${ISO}`, 5);
    const failed = await fetch(`${base}/${ISO}`, { list: `${base}/SHA256SUMS`, cache });
    assert.equal(failed.code, 69); // EX_UNAVAILABLE: the download could not complete, not a "no"
    assert.match(failed.stderr, /\[SOURCE_DOWNLOAD_FAILED\]/);
    const parts = filesUnder(path.join(cache, 'partial'));
    assert.equal(parts.length, 1);
    const kept = statSync(path.join(cache, 'partial', parts[0])).size;
    assert.ok(kept > ISO_SIZE / 2 && kept < ISO_SIZE, `kept ${kept} bytes`);

    const start = mirror.requests.length;
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/SHA256SUMS`, cache });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).requests, 1);
    const data = mirror.requests.slice(start).filter((r) => r.path === `/${ISO}`);
    assert.deepEqual(
      data.map((r) => r.range),
      [`bytes=${kept}-`],
    );
    assert.deepEqual(filesUnder(path.join(cache, 'partial')), []);
  });

  it('refuses a corrupted download and leaves neither the file nor the .part behind', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/corrupt/${ISO}`, { list: `${base}/SHA256SUMS`, cache });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[SOURCE_DIGEST_MISMATCH\]/);
    assert.deepEqual(
      filesUnder(cache).filter((f) => f !== 'index.json'),
      [],
    );
  });

  it('refuses a swapped checksum list before downloading anything', async () => {
    const cache = freshCache();
    const before = mirror.requests.length;
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/SWAPPEDSUMS`, cache });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[SOURCE_LIST_UNTRUSTED\]/);
    assert.equal(mirror.requests.slice(before).filter((r) => r.path === `/${ISO}`).length, 0);
    assert.deepEqual(filesUnder(cache), []);
  });

  it('refuses a list signed by a key outside the keyring', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/STRANGERSUMS`, cache });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[SOURCE_LIST_UNTRUSTED\]/);
    assert.deepEqual(filesUnder(cache), []);

    // The genuine list checked against the wrong keyring is refused the same way.
    const wrongKeyring = await fetch(`${base}/${ISO}`, {
      list: `${base}/SHA256SUMS`,
      keyring: strangerKeyring,
      cache,
    });
    assert.equal(wrongKeyring.code, 1);
    assert.match(wrongKeyring.stderr, /\[SOURCE_LIST_UNTRUSTED\]/);
  });

  it('refuses a list with no signature at all', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/${ISO}`, {
      list: `${base}/SHA256SUMS`,
      signature: file('README'),
      cache,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[SOURCE_LIST_UNTRUSTED\]/);
  });

  it('accepts a BSD-style list given as local files', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/${ISO}`, { list: file('BSDSUMS'), cache });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).path, path.join(cache, 'sha256', sha256));
  });

  it('accepts a SHA512SUMS list and caches under sha512', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/SHA512SUMS`, cache });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.algorithm, 'sha512');
    assert.equal(out.path, path.join(cache, 'sha512', sha512));
  });

  it('refuses a file the signed list has no line for', async () => {
    const cache = freshCache();
    const result = await fetch(`${base}/${ISO}`, { list: `${base}/OTHERSUMS`, cache });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[SOURCE_NOT_LISTED\]/);
    assert.deepEqual(filesUnder(cache), []);
  });

  it('never matches hostile path names in a list, so nothing escapes the cache', async () => {
    const cache = freshCache();
    writeFileSync(file('escape.iso'), readFileSync(file(ISO)));
    try {
      const result = await fetch(`${base}/escape.iso`, { list: `${base}/HOSTILESUMS`, cache });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /\[SOURCE_NOT_LISTED\]/);
      assert.deepEqual(filesUnder(cache), []);
      assert.equal(filesUnder(work).filter((f) => f.endsWith('escape.iso')).length, 1);
    } finally {
      rmSync(file('escape.iso'));
    }
  });

  it('verifies a local file, and refuses a modified one without deleting it', async () => {
    const verify = (target: string) =>
      run(CLI, [
        'source',
        'verify',
        target,
        '--checksums',
        `${base}/SHA256SUMS`,
        '--signature',
        `${base}/SHA256SUMS.gpg`,
        '--keyring',
        keyring,
        '--format',
        'json',
      ]);
    const good = await verify(file(ISO));
    assert.equal(good.code, 0, good.stderr);
    assert.equal(JSON.parse(good.stdout).digest, sha256);

    const bad = await verify(path.join(root, 'corrupt', ISO));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\[SOURCE_DIGEST_MISMATCH\]/);
    assert.equal(statSync(path.join(root, 'corrupt', ISO)).size, ISO_SIZE);
  });
});
