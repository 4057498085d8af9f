import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BootReport, renderBootReport } from '../../../src/pipeline/boot/index.ts';
import { escapeXml, serialLogForReport } from '../../../src/pipeline/boot/report.ts';

function report(results: BootReport['results']): BootReport {
  return {
    kind: 'boot-test',
    tool: { name: 'imagetrust', version: '0.1.0' },
    image: '/img/a&b.qcow2',
    image_sha512: 'a'.repeat(128),
    profile: 'debian-12-cloud',
    firmware: 'bios',
    accelerator: 'tcg',
    results,
    serial_log: 'Linux version 6.1\u001b[0m <ok>',
    timings: { boot_to_agent_ms: 1000, boot_to_ssh_ms: 2000, tests_ms: 3000, total_ms: 4000 },
  };
}

const results: BootReport['results'] = [
  { id: 'linux_check_no_swap', status: 'pass', message: 'no active swap', duration_ms: 12, output: '' },
  {
    id: 'check_cloud_init',
    status: 'fail',
    message: 'status is "error" <bad>',
    duration_ms: 5,
    output: 'a & b\u0007',
  },
  { id: 'check_virtio_rng', status: 'skip', message: 'no virtio rng', duration_ms: 0, output: '' },
  {
    id: 'does_vm_reboot_correctly',
    status: 'error',
    message: "QEMU isn't running",
    duration_ms: 0,
    output: '',
  },
];

describe('renderBootReport', () => {
  it('writes the JSON document with the scan report top-level fields and kind boot-test', () => {
    const json = JSON.parse(renderBootReport('json', report(results)));
    assert.deepEqual(Object.keys(json), [
      'kind',
      'tool',
      'image',
      'image_sha512',
      'profile',
      'firmware',
      'accelerator',
      'results',
      'serial_log',
      'timings',
    ]);
    assert.equal(json.kind, 'boot-test');
    assert.deepEqual(Object.keys(json.results[0]), ['id', 'status', 'message', 'duration_ms', 'output']);
  });

  it('writes JUnit XML with counts, escaped text and no control characters', () => {
    const xml = renderBootReport('junit', report(results));
    assert.match(
      xml,
      /<testsuite name="imagetrust boot-test \/img\/a&#38;b.qcow2" tests="4" failures="1" errors="1" skipped="1"/,
    );
    assert.match(xml, /<failure message="status is &#34;error&#34; &#60;bad&#62;">/);
    assert.match(xml, /<error message="QEMU isn&#39;t running">/);
    assert.match(xml, /<skipped message="no virtio rng"\/>/);
    const controls = [...xml].filter((char) => char.charCodeAt(0) < 0x20 && !'\t\n\r'.includes(char));
    assert.deepEqual(controls, []);
    assert.match(xml, /a &#38; b/);
  });

  it('prints one text line per test and a summary', () => {
    const text = renderBootReport('text', report(results));
    assert.match(text, /^PASS\s+linux_check_no_swap/m);
    assert.match(text, /^FAIL\s+check_cloud_init/m);
    assert.match(text, /4 tests: 1 passed, 1 failed, 1 errors, 1 skipped/);
  });

  it('keeps the whole serial log when a test did not pass, and its tail otherwise', () => {
    const log = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n');
    assert.equal(serialLogForReport(log, results), log);
    const tail = serialLogForReport(log, [results[0]], 10);
    assert.equal(tail.split('\n').length, 10);
    assert.match(tail, /line 499$/);
  });

  it('escapeXml drops characters XML 1.0 cannot carry', () => {
    assert.equal(escapeXml('a\u0000b\u001bc\td'), 'abc\td');
  });
});
