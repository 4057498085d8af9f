// Governance end to end with the real `openstack` client and our commands, as three people would use
// them: a builder uploads and signs but cannot release; an approver releases; an auditor watches. A
// scheduled deprecation fires, the boot gate refuses the obsolete image, and a policy file edited while
// the service runs takes effect without a restart.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestClock } from '../support/clock.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// The server's time is a test clock that moves only when the test says so: schedules fire when the
// test advances it, however busy the machine is.
const clock = new TestClock(new Date());
const HOUR = 3600_000;
const inHours = (h: number) =>
  new Date(clock.now().getTime() + h * HOUR).toISOString().replace(/\.\d+Z$/, 'Z');

describe('governance with the real openstack client: builder, approver, auditor', () => {
  let t: TestServer;
  let work: string;
  let policyFile: string;
  const envs: Record<string, Record<string, string>> = {};
  const file = (name: string) => path.join(work, name);
  const as = (who: string) => envs[who];
  const openstack = (who: string, args: string[]) => run('openstack', args, as(who));
  const imagetrust = (who: string, args: string[]) => run(BIN, args, as(who));
  const ok = async (result: Promise<{ code: number | null; stdout: string; stderr: string }>) => {
    const r = await result;
    assert.equal(r.code, 0, r.stderr || r.stdout);
    return r.stdout;
  };
  const showImage = async (who: string, id: string) =>
    JSON.parse(await ok(openstack(who, ['image', 'show', id, '-f', 'json']))) as Record<string, unknown> & {
      properties: Record<string, string>;
    };

  let imageId = '';
  let requestId = '';

  before(async () => {
    requireTool('openstack', 'python3-openstackclient');
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-governance-'));
    policyFile = file('policy.yaml');
    writeFileSync(policyFile, '# operator overrides; empty means the in-code defaults\n');
    t = await startTestServer(
      { policy: { file: policyFile }, lifecycle: { scheduleIntervalSeconds: 0.5 } },
      { clock },
    );
    envs.admin = clientEnvironment(t.url, work);
    const users = { builder: ['member'], approver: ['member', 'approver'], auditor: ['reader', 'auditor'] };
    await ok(openstack('admin', ['project', 'create', 'images']));
    for (const [name, roles] of Object.entries(users)) {
      await ok(
        openstack('admin', ['user', 'create', '--project', 'images', '--password', `${name}-secret`, name]),
      );
      for (const role of roles)
        await ok(openstack('admin', ['role', 'add', '--user', name, '--project', 'images', role]));
      envs[name] = clientEnvironment(t.url, work, {
        OS_USERNAME: name,
        OS_PASSWORD: `${name}-secret`,
        OS_PROJECT_NAME: 'images',
      });
    }
    writeFileSync(file('disk.raw'), randomBytes(3 * 1024 * 1024 + 11));
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the builder signs and uploads; the image is a custom, available image', async () => {
    await ok(
      imagetrust('builder', [
        'keys',
        'generate',
        '--type',
        'RSA-PSS',
        '--bits',
        '2048',
        '--cn',
        'builder',
        '--days',
        '30',
        '--out-key',
        file('builder.key'),
        '--out-cert',
        file('builder.pem'),
      ]),
    );
    const uploaded = JSON.parse(
      await ok(
        imagetrust('builder', [
          'sign',
          file('disk.raw'),
          '--key',
          file('builder.key'),
          '--cert',
          file('builder.pem'),
          '--upload',
          '--name',
          'debian-12-governed',
          '--format',
          'json',
        ]),
      ),
    );
    imageId = uploaded.id;
    const shown = await showImage('builder', imageId);
    assert.equal(shown.status, 'active');
    assert.equal(shown.properties.image_class, 'custom');
    assert.equal(shown.properties.lifecycle_state, 'available');
    assert.equal(shown.properties.img_signature_key_type, 'RSA-PSS');
  });

  it('the builder can neither publish directly nor approve their own release', async () => {
    const direct = await openstack('builder', ['image', 'set', '--public', imageId]);
    assert.notEqual(direct.code, 0);
    assert.match(direct.stderr, /403|only through an approved release/);
    // The compliance report of the uploaded file goes with the image, bound to its sha512.
    const sha512 = createHash('sha512')
      .update(readFileSync(file('disk.raw')))
      .digest('hex');
    writeFileSync(
      file('report.json'),
      JSON.stringify({
        image: 'disk.raw',
        image_sha512: sha512,
        results: [{ id: 'no-swap', status: 'pass' }],
      }),
    );
    const attached = await ok(
      imagetrust('builder', ['image', 'report', 'attach', imageId, file('report.json')]),
    );
    assert.match(attached, new RegExp(`^passed sha256:[0-9a-f]{64} attached to ${imageId}`));
    // The booted tests of the same bytes go beside it, as a report of their own kind.
    writeFileSync(
      file('boot.json'),
      JSON.stringify({
        kind: 'boot-test',
        image: 'disk.raw',
        image_sha512: sha512,
        profile: 'smoke',
        firmware: 'bios',
        accelerator: 'tcg',
        results: [{ id: 'reaches-login', status: 'pass', message: 'ok', duration_ms: 1 }],
        serial_log: '',
        timings: {},
      }),
    );
    assert.match(
      await ok(
        imagetrust('builder', [
          'image',
          'report',
          'attach',
          imageId,
          file('boot.json'),
          '--kind',
          'boot-test',
        ]),
      ),
      /^passed boot-test report sha256:[0-9a-f]{64} attached to /,
    );
    const asked = JSON.parse(
      await ok(
        imagetrust('builder', [
          'image',
          'release',
          'request',
          imageId,
          '--target',
          'stock',
          '--reason',
          'November build',
          '--format',
          'json',
        ]),
      ),
    );
    assert.equal(asked.status, 'pending');
    requestId = asked.id;
    const self = await imagetrust('builder', ['image', 'release', 'approve', requestId]);
    assert.equal(self.code, 3, self.stderr);
    assert.match(self.stderr, /not authorized to approve releases/);
    assert.equal((await showImage('builder', imageId)).visibility, 'shared');
  });

  it('the approver approves; the image becomes a public stock image that the auditor sees', async () => {
    const pending = JSON.parse(
      await ok(
        imagetrust('approver', ['image', 'release', 'list', '--status', 'pending', '--format', 'json']),
      ),
    );
    assert.deepEqual(
      pending.map((r: { id: string }) => r.id),
      [requestId],
    );
    const approved = JSON.parse(
      await ok(
        imagetrust('approver', [
          'image',
          'release',
          'approve',
          requestId,
          '--reason',
          'checked',
          '--format',
          'json',
        ]),
      ),
    );
    assert.equal(approved.status, 'approved');
    const seen = await showImage('auditor', imageId);
    assert.equal(seen.visibility, 'public');
    assert.equal(seen.properties.image_class, 'stock');
    const listed = JSON.parse(await ok(openstack('auditor', ['image', 'list', '--public', '-f', 'json'])));
    assert.ok(listed.some((i: { ID: string }) => i.ID === imageId));
  });

  it('a consumer in another project boots the public image: the gate verifies it with the catalog copy of the certificate', async () => {
    await ok(openstack('admin', ['project', 'create', 'tenant']));
    await ok(
      openstack('admin', [
        'user',
        'create',
        '--project',
        'tenant',
        '--password',
        'consumer-secret',
        'consumer',
      ]),
    );
    await ok(openstack('admin', ['role', 'add', '--user', 'consumer', '--project', 'tenant', 'member']));
    envs.consumer = clientEnvironment(t.url, work, {
      OS_USERNAME: 'consumer',
      OS_PASSWORD: 'consumer-secret',
      OS_PROJECT_NAME: 'tenant',
    });
    // The key manager keeps the signer's certificate to the signer's project...
    const direct = await run(
      'openstack',
      [
        'secret',
        'get',
        '--payload',
        `${t.url}/key-manager/v1/secrets/${(await showImage('consumer', imageId)).properties.img_signature_certificate_uuid}`,
      ],
      as('consumer'),
    );
    assert.notEqual(direct.code, 0);
    // ...and the gate still verifies the released image for a consumer elsewhere.
    const fetched = await imagetrust('consumer', [
      'fetch',
      imageId,
      '--cache-dir',
      file('consumer-cache'),
      '--format',
      'json',
    ]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.equal(JSON.parse(fetched.stdout).verified, true);
  });

  it('a scheduled deprecation fires on time; the gate warns, then refuses the obsolete image', async () => {
    await ok(
      imagetrust('builder', [
        'image',
        'lifecycle',
        'set',
        imageId,
        '--deprecate-at',
        inHours(2),
        '--obsolete-at',
        inHours(6),
      ]),
    );
    assert.equal((await showImage('auditor', imageId)).properties.lifecycle_state, 'available');
    clock.advance(2 * HOUR);
    const cache = file('gate-cache');
    let deadline = Date.now() + 15_000;
    while ((await showImage('auditor', imageId)).properties.lifecycle_state !== 'deprecated') {
      assert.ok(Date.now() < deadline, 'the deprecation never fired');
      await sleep(250);
    }
    const warned = await imagetrust('auditor', ['fetch', imageId, '--cache-dir', cache]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /warning: Image .* is deprecated and becomes obsolete at/);
    assert.ok(existsSync(warned.stdout.trim()));
    clock.advance(4 * HOUR);
    deadline = Date.now() + 15_000;
    while ((await showImage('auditor', imageId)).properties.lifecycle_state !== 'obsolete') {
      assert.ok(Date.now() < deadline, 'the obsolescence never fired');
      await sleep(250);
    }
    // The unmodified client filters on it like any property.
    const obsoleteList = JSON.parse(
      await ok(
        openstack('auditor', ['image', 'list', '--property', 'lifecycle_state=obsolete', '-f', 'json']),
      ),
    );
    assert.deepEqual(
      obsoleteList.map((i: { ID: string }) => i.ID),
      [imageId],
    );
    const refused = await imagetrust('auditor', ['fetch', imageId, '--cache-dir', cache]);
    assert.equal(refused.code, 6, refused.stderr);
    assert.match(refused.stderr, /IMAGE_OBSOLETE|is obsolete and cannot be booted/);
    assert.ok(!existsSync(path.join(cache, imageId)), 'the cached copy of an obsolete image is removed');
    // Only an admin brings it back.
    const back = await imagetrust('builder', ['image', 'lifecycle', 'set', imageId, '--state', 'available']);
    assert.equal(back.code, 3, back.stderr);
  });

  it('a policy file that sets "!" on an action takes effect without a restart, and so does its removal', async () => {
    await ok(openstack('builder', ['image', 'list']));
    writeFileSync(policyFile, '"get_images": "!"\n');
    // A generous bound: the file is re-read within a second, but each client run is slow on a busy machine.
    let deadline = Date.now() + 60_000;
    for (;;) {
      const denied = await openstack('builder', ['image', 'list']);
      if (denied.code !== 0) {
        assert.match(denied.stderr, /403|Forbidden|not authorized/i);
        break;
      }
      assert.ok(Date.now() < deadline, 'the policy file change never took effect');
      await sleep(300);
    }
    assert.notEqual((await openstack('admin', ['image', 'list'])).code, 0, '"!" denies admins too');
    writeFileSync(policyFile, '# back to the defaults\n');
    deadline = Date.now() + 60_000;
    while ((await openstack('builder', ['image', 'list'])).code !== 0) {
      assert.ok(Date.now() < deadline, 'removing the rule never took effect');
      await sleep(300);
    }
  });

  it('the auditor gets the whole history with proofs, verifiable offline with the log public key', async () => {
    const proofFile = file('history.json');
    await ok(imagetrust('auditor', ['audit', 'proof', imageId, '--output', proofFile, '--format', 'json']));
    const bundle = JSON.parse(readFileSync(proofFile, 'utf8'));
    const types = (bundle.entries as { leaf: string }[]).map((e) => JSON.parse(e.leaf).type);
    for (const expected of [
      'image.created',
      'image.verification',
      'image.uploaded',
      'release.requested',
      'release.approved',
      'image.visibility_changed',
      'image.lifecycle_changed',
      'image.report_attached',
    ]) {
      assert.ok(types.includes(expected), `${expected} missing from ${types.join(', ')}`);
    }
    // Each report attached is in the history with its kind and verdict.
    const reports = (bundle.entries as { leaf: string }[])
      .map((e) => JSON.parse(e.leaf))
      .filter((l) => l.type === 'image.report_attached');
    assert.deepEqual(
      reports.map((l) => [l.details.kind, l.details.passed]),
      [
        ['compliance', true],
        ['boot-test', true],
      ],
    );
    // The approval names the approver, the upload the builder: who did what is in the log.
    const leaves = (bundle.entries as { leaf: string }[]).map((e) => JSON.parse(e.leaf));
    assert.equal(leaves.find((l) => l.type === 'release.approved').actor.user_name, 'approver');
    assert.equal(leaves.find((l) => l.type === 'image.uploaded').actor.user_name, 'builder');
    // The scheduler made the lifecycle changes: no actor.
    assert.ok(leaves.some((l) => l.type === 'image.lifecycle_changed' && l.actor === null));

    // The log's public key, as a third party would pin it from the tree-head endpoint.
    const head = await fetch(`${t.url}/audit/v1/tree-head`, { headers: { 'x-auth-token': await t.token() } });
    assert.equal(head.status, 200);
    writeFileSync(file('log.pub'), (await head.json()).public_key);
    const verified = await ok(
      imagetrust('auditor', [
        'audit',
        'verify-proof',
        proofFile,
        '--public-key',
        file('log.pub'),
        '--save-head',
        file('pinned-head.json'),
      ]),
    );
    assert.match(verified, /ok|verified/i);
    // One changed character in one leaf and the offline check fails.
    const forged = structuredClone(bundle);
    forged.entries[0].leaf = forged.entries[0].leaf.replace('"image.created"', '"image.removed"');
    writeFileSync(file('forged.json'), JSON.stringify(forged));
    const refused = await imagetrust('auditor', [
      'audit',
      'verify-proof',
      file('forged.json'),
      '--public-key',
      file('log.pub'),
    ]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    // Later, the log has grown: the new history proves it extends the pinned head.
    await ok(openstack('builder', ['image', 'set', '--property', 'note=after-pinning', imageId]));
    const laterFile = file('history-2.json');
    await ok(
      imagetrust('auditor', [
        'audit',
        'proof',
        imageId,
        '--since-head',
        file('pinned-head.json'),
        '-o',
        laterFile,
      ]),
    );
    const extended = await ok(
      imagetrust('auditor', [
        'audit',
        'verify-proof',
        laterFile,
        '--public-key',
        file('log.pub'),
        '--previous-head',
        file('pinned-head.json'),
      ]),
    );
    assert.match(extended, /^ok: /);
    // An older history against a newer pinned head looks like a rollback, and is refused.
    const withoutProof = await imagetrust('auditor', [
      'audit',
      'verify-proof',
      proofFile,
      '--public-key',
      file('log.pub'),
      '--previous-head',
      laterFile,
    ]);
    assert.equal(withoutProof.code, 1);
    assert.match(withoutProof.stderr, /inconsistent/);
    // The whole stored log checks out against its latest signed head; a builder cannot read it all.
    const whole = await run(BIN, ['audit', 'verify', '--data-dir', t.dataDir], as('admin'));
    assert.equal(whole.code, 0, whole.stderr);
    const entries = await fetch(`${t.url}/audit/v1/entries?start=0&end=10`, {
      headers: { 'x-auth-token': await t.token('builder', 'builder-secret', 'images') },
    });
    assert.equal(entries.status, 403);
    // Policy changes and failed logins are in the log too, without the password tried.
    const failed = await run('openstack', ['image', 'list'], {
      ...as('builder'),
      OS_PASSWORD: 'guessed-wrong',
    });
    assert.notEqual(failed.code, 0);
    const all = await fetch(`${t.url}/audit/v1/entries?start=0&end=1000`, {
      headers: { 'x-auth-token': await t.token() },
    });
    const logged = ((await all.json()).entries as { leaf: string }[]).map((e) => e.leaf);
    assert.ok(logged.some((leaf) => JSON.parse(leaf).type === 'policy.changed'));
    const loaded = logged.map((leaf) => JSON.parse(leaf)).find((l) => l.type === 'policy.loaded');
    assert.deepEqual(loaded?.details.files, [policyFile], 'the policy in force at start is logged');
    const login = logged.map((leaf) => JSON.parse(leaf)).find((l) => l.type === 'identity.login_failed');
    assert.equal(login?.details.user, 'builder');
    assert.ok(
      !logged.some((leaf) => leaf.includes('guessed-wrong')),
      'a tried password never reaches the log',
    );
  });
});
