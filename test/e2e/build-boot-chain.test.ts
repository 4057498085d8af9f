// The chain of trust from template to boot, end to end with real parts: `imagetrust build` makes a
// Debian 12 image from a TDL template (mmdebstrap from the signed archive, GRUB, sysprep, offline scan,
// provenance signed with the build key), signs and uploads it; `imagetrust test-boot` boots it under
// QEMU (TCG) in a private network namespace and every booted test passes; a second person releases it;
// the boot gate fetches and verifies it; and the log's proof holds every step, with the provenance
// checked here independently: its signature with openssl over a PAE computed by hand, its digests
// recomputed from the artifacts, its package list read from the image with debugfs.
// A planted image fails exactly its planted tests; a guest that never boots fails within its timeout
// and leaves no process or namespace behind.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BUILD_CACHE, type BuiltImage, builtImage, runBuild, TEMPLATES } from '../fixtures/built-images.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { requireTool, run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;

interface BootResult {
  id: string;
  status: string;
  message?: string;
  output?: string;
}
interface BootReport {
  kind: string;
  image_sha512: string;
  results: BootResult[];
  serial_log?: string;
  timings?: Record<string, number>;
}

/** Runs a long command (a build, a boot) with its own generous timeout; never rejects on exit status. */
async function runLong(args: string[], env: Record<string, string> = {}, minutes = 60) {
  return promisify(execFile)(BIN, args, {
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
    timeout: minutes * 60_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

function sha(algorithm: string, file: string): string {
  return createHash(algorithm).update(readFileSync(file)).digest('hex');
}

/** Nothing of a boot test may outlive it: no qemu or dnsmasq of ours, no namespace of ours. */
function leftovers(): string[] {
  const found: string[] = [];
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of namespaces.split('\n'))
    if (line.startsWith('imagetrust-boot-')) found.push(`netns ${line}`);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (/qemu-system-x86_64|dnsmasq/.test(cmdline) && cmdline.includes('imagetrust-boot-'))
      found.push(`pid ${pid}: ${cmdline.slice(0, 120)}`);
  }
  return found;
}

/** The DSSE pre-authentication encoding, written here from the spec rather than imported. */
function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

describe('template to boot: build, booted tests, sign, upload, release, boot gate and the log', () => {
  let t: TestServer;
  let work: string;
  let built: BuiltImage;
  let imageId = '';
  let bootReportFile = '';
  const envs: Record<string, Record<string, string>> = {};
  const file = (name: string) => path.join(work, name);
  const ok = async (result: Promise<{ code: number; stdout: string; stderr: string }>) => {
    const r = await result;
    assert.equal(r.code, 0, r.stderr || r.stdout);
    return r.stdout;
  };
  const openstack = (who: string, args: string[]) => run('openstack', args, envs[who]);
  const imagetrust = (who: string, args: string[]) => run(BIN, args, envs[who]);

  before(async () => {
    for (const [tool, pkg] of [
      ['mmdebstrap', 'mmdebstrap'],
      ['qemu-system-x86_64', 'qemu-system-x86'],
      ['dnsmasq', 'dnsmasq-base'],
      ['openstack', 'python3-openstackclient'],
      ['openssl', 'openssl'],
      ['debugfs', 'e2fsprogs'],
      ['gpgv', 'gpgv'],
    ])
      requireTool(tool, pkg);
    work = mkdtempSync(path.join(tmpdir(), 'imagetrust-chain-'));
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', file('build-key.pem')]);
    execFileSync('openssl', ['pkey', '-in', file('build-key.pem'), '-pubout', '-out', file('build-key.pub')]);
    t = await startTestServer({
      provenance: { trustedKeys: [file('build-key.pub')] },
      release: { requireComplianceReport: true, requireBootTest: true, requireProvenance: true },
    });
    envs.admin = clientEnvironment(t.url, work);
    await ok(openstack('admin', ['project', 'create', 'images']));
    for (const [name, roles] of Object.entries({ builder: ['member'], approver: ['member', 'approver'] })) {
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
        file('signer.key'),
        '--out-cert',
        file('signer.pem'),
      ]),
    );
  });
  after(async () => {
    await t?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('builds the TDL template into a signed, uploaded image with its scan report and provenance attached', async () => {
    built = await runBuild(
      TEMPLATES.good,
      [
        '--build-key',
        file('build-key.pem'),
        '--sign',
        '--key',
        file('signer.key'),
        '--cert',
        file('signer.pem'),
        '--upload',
        '--name',
        'debian-12-built',
      ],
      envs.builder,
    );
    assert.equal(built.exitCode, 0, built.stderr);
    assert.equal(built.result.scan, 'passed');
    const uploaded = (built.result as unknown as { uploaded: { id: string; status: string } }).uploaded;
    assert.equal(uploaded.status, 'active');
    imageId = uploaded.id;
    assert.equal(built.result.sha512, sha('sha512', built.qcow2));
    // The catalog holds exactly these bytes.
    const shown = JSON.parse(await ok(openstack('builder', ['image', 'show', imageId, '-f', 'json'])));
    assert.equal(shown.properties.os_hash_value ?? shown.os_hash_value, built.result.sha512);
    assert.equal(shown.disk_format, 'qcow2');
  });

  it('boots under QEMU in a private network and every booted test passes; the image is untouched', async () => {
    const before = sha('sha256', built.qcow2);
    bootReportFile = file('boot-test.json');
    const booted = await runLong([
      'test-boot',
      built.qcow2,
      '--property',
      'hw_rng_model=virtio',
      '-f',
      'json',
      '-o',
      bootReportFile,
    ]);
    const report = JSON.parse(readFileSync(bootReportFile, 'utf8')) as BootReport;
    const failed = report.results.filter((r) => r.status !== 'pass');
    assert.deepEqual(
      failed,
      [],
      `booted tests did not pass:\n${JSON.stringify(failed, null, 2)}\n${report.serial_log?.slice(-3000)}`,
    );
    assert.equal(booted.code, 0, booted.stderr);
    assert.equal(report.kind, 'boot-test');
    assert.equal(report.image_sha512, built.result.sha512);
    const ids = report.results.map((r) => r.id);
    for (const id of [
      'image_responds_to_ping',
      'linux_image_allows_ssh',
      'does_linux_vm_have_a_resolv_conf_file',
      'linux_ping_by_ip',
      'linux_ping_by_name',
      'linux_check_boot_disk_size',
      'linux_check_distribution',
      'linux_check_for_required_modules',
      'linux_vm_with_two_nics_and_two_volumes',
      'linux_check_eth_interfaces_are_up',
      'linux_check_eth_interface_addresses',
      'attach_and_detach_volume_to_vsi',
      'attach_and_detach_nic_to_vsi',
      'linux_check_anyuser_login_over_ssh',
      'linux_check_no_swap',
      'check_kernel_boot_options',
      'check_cloud_init',
      'check_systemd_service_units',
      'check_virtio_rng',
      'does_vm_reboot_correctly',
      'does_vm_stop_and_start_correctly',
    ])
      assert.ok(ids.includes(id), `${id} did not run`);
    assert.equal(sha('sha256', built.qcow2), before, 'the boot test changed the image');
    assert.deepEqual(leftovers(), []);
    await ok(
      imagetrust('builder', ['image', 'report', 'attach', imageId, bootReportFile, '--kind', 'boot-test']),
    );
  });

  it('is released by a second person only; the boot gate fetches and verifies the released image', async () => {
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
          'built and boot-tested',
          '--format',
          'json',
        ]),
      ),
    );
    assert.equal(asked.status, 'pending');
    const self = await imagetrust('builder', ['image', 'release', 'approve', asked.id]);
    assert.notEqual(self.code, 0);
    const approved = JSON.parse(
      await ok(
        imagetrust('approver', [
          'image',
          'release',
          'approve',
          asked.id,
          '--reason',
          'chain checked',
          '--format',
          'json',
        ]),
      ),
    );
    assert.equal(approved.status, 'approved');
    const fetched = JSON.parse(
      await ok(imagetrust('approver', ['fetch', imageId, '--cache-dir', file('gate'), '--format', 'json'])),
    );
    assert.equal(fetched.verified, true);
    assert.equal(sha('sha512', fetched.path), built.result.sha512);
  });

  it("the log's proof holds template, build, scan, sign, release and boot test; the provenance checks out independently", async () => {
    const proof = JSON.parse(
      await ok(
        imagetrust('approver', ['audit', 'proof', imageId, '--format', 'json', '-o', file('proof.json')]),
      ),
    );
    const pub = await ok(
      imagetrust('approver', ['audit', 'public-key', '--os-auth-url', envs.approver.OS_AUTH_URL]),
    );
    writeFileSync(file('log.pub'), pub);
    await ok(
      imagetrust('approver', ['audit', 'verify-proof', file('proof.json'), '--public-key', file('log.pub')]),
    );
    // Each entry carries its leaf as the canonical JSON the log hashed.
    const events = (proof.entries as { leaf: string }[]).map(
      (entry) => JSON.parse(entry.leaf) as { type: string; details?: Record<string, unknown> },
    );
    const kinds = events.filter((e) => e.type === 'image.report_attached').map((e) => e.details?.kind);
    assert.deepEqual([...kinds].sort(), ['boot-test', 'compliance', 'provenance']);
    const types = events.map((e) => e.type);
    for (const type of ['image.created', 'image.uploaded', 'release.requested', 'release.approved'])
      assert.ok(types.includes(type), `${type} is not in the proof`);
    // Order of the chain: provenance and scan before the release, the boot test before its approval.
    assert.ok(types.indexOf('image.uploaded') < types.lastIndexOf('release.approved'));

    // The provenance as the catalog holds it, checked without our code.
    const shown = JSON.parse(
      await ok(
        imagetrust('approver', [
          'image',
          'report',
          'show',
          imageId,
          '--kind',
          'provenance',
          '--format',
          'json',
        ]),
      ),
    );
    const envelope = (shown.document ?? shown) as {
      payloadType: string;
      payload: string;
      signatures: { keyid: string; sig: string }[];
    };
    const body = Buffer.from(envelope.payload, 'base64');
    writeFileSync(file('pae.bin'), pae(envelope.payloadType, body));
    writeFileSync(file('sig.bin'), Buffer.from(envelope.signatures[0].sig, 'base64'));
    execFileSync('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      file('build-key.pub'),
      '-rawin',
      '-in',
      file('pae.bin'),
      '-sigfile',
      file('sig.bin'),
    ]);
    const statement = JSON.parse(body.toString('utf8'));
    assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
    assert.equal(statement.subject.length, 1);
    assert.equal(statement.subject[0].digest.sha512, sha('sha512', built.qcow2));
    assert.equal(statement.subject[0].digest.sha256, sha('sha256', built.qcow2));
    const deps = statement.predicate.buildDefinition.resolvedDependencies as {
      name?: string;
      uri?: string;
      digest: Record<string, string>;
    }[];
    const template = deps.find((d) => d.name === 'template');
    assert.equal(template?.digest.sha256, sha('sha256', TEMPLATES.good));
    // The archive index it names is one the Debian keyring signed, byte for byte.
    const release = deps.find((d) => d.uri?.endsWith('/InRelease'));
    assert.ok(release, 'no InRelease in the provenance');
    const lists = execFileSync('sh', ['-c', `ls ${BUILD_CACHE}/bootstrap/*/lists/*_InRelease`], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    const copy = lists.find((candidate) => sha('sha256', candidate) === release.digest.sha256);
    assert.ok(copy, 'no InRelease with the recorded digest');
    execFileSync('gpgv', ['--keyring', '/usr/share/keyrings/debian-archive-keyring.gpg', copy], {
      stdio: 'ignore',
    });
    // Every package the image holds, and only those, read from the image's dpkg database with debugfs.
    execFileSync('qemu-img', ['convert', '-O', 'raw', built.qcow2, file('image.raw')]);
    const status = execFileSync(
      'debugfs',
      ['-R', 'cat /var/lib/dpkg/status', `${file('image.raw')}?offset=${131072 * 512}`],
      {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const installed = status
      .split('\n\n')
      .filter((stanza) => /^Status: install ok installed$/m.test(stanza))
      .map((stanza) => `${/^Package: (.*)$/m.exec(stanza)?.[1]}@${/^Version: (.*)$/m.exec(stanza)?.[1]}`)
      .sort();
    const recorded = deps
      .filter((d) => d.uri?.startsWith('pkg:deb/'))
      .map((d) =>
        decodeURIComponent((d.uri as string).replace(/^pkg:deb\/debian\//, '').replace(/\?.*$/, '')),
      )
      .sort();
    assert.ok(installed.length > 100);
    assert.deepEqual(recorded, installed);
  });

  it('a planted build fails exactly its planted booted tests, with the serial log and what failed', async () => {
    const planted = await builtImage('planted');
    assert.ok(existsSync(planted.qcow2), planted.stderr);
    const reportFile = file('planted.json');
    // The planted faults are what this run is about: reboot and stop/start are proven on the good image,
    // and SSH or a grown disk that never come are given a minute, not the default three.
    writeFileSync(
      file('planted-profile.yaml'),
      'skip: [does_vm_reboot_correctly, does_vm_stop_and_start_correctly]\ntimeouts: {linux_image_allows_ssh: 60, linux_check_boot_disk_size: 60}\n',
    );
    const booted = await runLong([
      'test-boot',
      planted.qcow2,
      '--profile',
      file('planted-profile.yaml'),
      '--property',
      'hw_rng_model=virtio',
      '-f',
      'json',
      '-o',
      reportFile,
    ]);
    assert.equal(booted.code, 1, booted.stderr);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as BootReport;
    // The profile's skip leaves them out of the run.
    const ran = report.results.map((r) => r.id);
    assert.ok(!ran.includes('does_vm_reboot_correctly') && !ran.includes('does_vm_stop_and_start_correctly'));
    assert.equal(ran.length, 19);
    const failed = report.results
      .filter((r) => r.status !== 'pass' && r.status !== 'skip')
      .map((r) => r.id)
      .sort();
    assert.deepEqual(
      failed,
      [
        // no cloud-init: nothing grows the root to the disk (cloud-init's growpart is the image's way to)
        'check_cloud_init',
        'linux_check_boot_disk_size',
        // a unit planted to fail
        'check_systemd_service_units',
        // PasswordAuthentication yes
        'linux_check_anyuser_login_over_ssh',
        // a swap file in fstab
        'linux_check_no_swap',
        // ssh.service disabled
        'linux_image_allows_ssh',
      ].sort(),
      // With the serial log's end: when the guest never comes up, the console is all there is to go on.
      `${JSON.stringify(
        report.results.filter((r) => r.status !== 'pass'),
        null,
        2,
      )}\nserial log, last 4000 characters:\n${(report.serial_log ?? '').slice(-4000)}`,
    );
    for (const result of report.results.filter((r) => r.status !== 'pass' && r.status !== 'skip')) {
      assert.ok(result.status === 'fail', `${result.id} is ${result.status}: ${result.message}`);
      assert.ok((result.message ?? '').length > 0, `${result.id} says nothing`);
    }
    assert.match(report.results.find((r) => r.id === 'linux_check_no_swap')?.output ?? '', /swapfile/);
    assert.match(report.serial_log ?? '', /Linux version/);
    assert.deepEqual(leftovers(), []);
  });

  it('a guest whose kernel argument stops the boot fails within the boot timeout and leaves nothing behind', async () => {
    const hung = await builtImage('hung');
    assert.equal(hung.exitCode, 0, hung.stderr);
    const reportFile = file('hung.json');
    const booted = await runLong(
      ['test-boot', hung.qcow2, '--boot-timeout', '90', '-f', 'json', '-o', reportFile],
      {},
      15,
    );
    assert.equal(booted.code, 1, booted.stderr);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as BootReport;
    assert.ok(report.results.length > 0);
    assert.ok(
      report.results.every((r) => r.status === 'error' || r.status === 'fail'),
      JSON.stringify(report.results),
    );
    assert.match(report.serial_log ?? '', /break=top|initramfs/i);
    assert.deepEqual(leftovers(), []);
  });
});
