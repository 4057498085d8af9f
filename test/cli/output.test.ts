// Output as the openstack client prints it: -f table|value|json|yaml and -c on data commands, yaml that
// works or is refused (never ignored), one report shape and SARIF for the three linters, and the
// release list with a header and image names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { commandPath, leafCommands } from '../../src/cli/command-tree.ts';
import { outputSpecOf } from '../../src/cli/output.ts';
import { createProgram } from '../../src/cli/program.ts';
import { clientEnvironment, startTestServer, type TestServer } from '../support/server.ts';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const FINDING_FIELDS = ['column', 'fix', 'line', 'message', 'path', 'rule', 'severity'];

describe('imagetrust output formats', () => {
  let dir: string;
  let store: string;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(BIN, args, { IMAGETRUST_CONFIG: '', HOME: dir, ...env });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-output-'));
    store = path.join(dir, 'store');
    for (const name of ['alpha', 'beta']) {
      const created = await cli(['project', 'create', name, '--data-dir', store]);
      assert.equal(created.code, 0, created.stderr);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a list as a table with a header, as values, as JSON and as the same data in YAML', async () => {
    const table = await cli(['project', 'list', '--data-dir', store]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^\+-+\+/);
    assert.deepEqual(
      lines[1].split('|').map((cell) => cell.trim()),
      ['', 'id', 'name', 'enabled', ''],
    );
    assert.equal(lines.length, 6);
    const values = await cli(['project', 'list', '--data-dir', store, '-f', 'value', '-c', 'name']);
    assert.deepEqual(values.stdout.trimEnd().split('\n').sort(), ['alpha', 'beta']);
    const json = JSON.parse((await cli(['project', 'list', '--data-dir', store, '-f', 'json'])).stdout);
    assert.ok(Array.isArray(json) && json.length === 2);
    const yaml = parseYaml((await cli(['project', 'list', '--data-dir', store, '--format', 'yaml'])).stdout);
    assert.deepEqual(yaml, json);
    const picked = JSON.parse(
      (await cli(['project', 'list', '--data-dir', store, '-f', 'json', '-c', 'name', '-c', 'id'])).stdout,
    );
    assert.deepEqual(Object.keys(picked[0]), ['name', 'id']);
  });

  it('prints one created item as Field | Value rows, and as an object in JSON', async () => {
    const table = await cli(['project', 'create', 'gamma', '--data-dir', store]);
    assert.deepEqual(
      table.stdout
        .split('\n')[1]
        .split('|')
        .map((cell) => cell.trim()),
      ['', 'Field', 'Value', ''],
    );
    const json = await cli(['project', 'create', 'delta', '--data-dir', store, '-f', 'json']);
    assert.equal(JSON.parse(json.stdout).name, 'delta');
  });

  it('refuses an unknown column as a usage error', async () => {
    const result = await cli(['project', 'list', '--data-dir', store, '-c', 'nope']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /\[USAGE\]/);
  });

  it('refuses a format a command does not print with exit 2 on every command, before doing anything', async () => {
    for (const command of leafCommands(createProgram())) {
      if (!outputSpecOf(command)) continue;
      const words = commandPath(command).split(' ').slice(1);
      const result = await cli([...words, '--format', 'xml']);
      assert.equal(result.code, 2, `${words.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /\[USAGE\]/, words.join(' '));
    }
  });

  describe('the three linters', () => {
    let template: string;
    let containersPolicy: string;
    let oslo: string;
    const linters = () => ({
      'template lint': ['template', 'lint', template],
      'containers lint': ['containers', 'lint', '--policy', containersPolicy],
      'policy lint': ['policy', 'lint', oslo],
    });

    before(() => {
      template = path.join(dir, 'broken.tdl');
      writeFileSync(template, '<template>\n  <name>x</nam>\n</template>\n');
      containersPolicy = path.join(dir, 'policy.json');
      writeFileSync(containersPolicy, '{\n  "default": [\n    {"type": "reject"},\n  ]\n}\n');
      oslo = path.join(dir, 'policy.yaml');
      writeFileSync(oslo, '"get_image": "rule:reader"\n"delete_image": !\n');
    });

    it('print one JSON shape, the same data in YAML, and exit 1 on an error finding', async () => {
      for (const [name, args] of Object.entries(linters())) {
        const json = await cli([...args, '-f', 'json']);
        assert.equal(json.code, 1, `${name}: ${json.stderr}`);
        const report = JSON.parse(json.stdout);
        assert.deepEqual(Object.keys(report).sort(), ['files', 'summary'], name);
        assert.deepEqual(Object.keys(report.summary).sort(), ['errors', 'infos', 'warnings'], name);
        assert.ok(report.summary.errors >= 1, name);
        const findings = report.files.flatMap((file: { findings: object[] }) => file.findings);
        for (const finding of findings) assert.deepEqual(Object.keys(finding).sort(), FINDING_FIELDS, name);
        assert.ok(
          findings.some((finding: { severity: string }) => finding.severity === 'error'),
          name,
        );
        const yaml = await cli([...args, '-f', 'yaml']);
        assert.equal(yaml.code, 1, name);
        assert.deepEqual(parseYaml(yaml.stdout), report, name);
      }
    });

    it('print SARIF 2.1.0 whose results name rules the driver lists', async () => {
      for (const [name, args] of Object.entries(linters())) {
        const result = await cli([...args, '-f', 'sarif']);
        assert.equal(result.code, 1, name);
        const sarif = JSON.parse(result.stdout);
        assert.equal(sarif.version, '2.1.0', name);
        const rules = new Set(sarif.runs[0].tool.driver.rules.map((rule: { id: string }) => rule.id));
        assert.ok(sarif.runs[0].results.length >= 1, name);
        for (const r of sarif.runs[0].results) {
          assert.ok(rules.has(r.ruleId), `${name}: ${r.ruleId}`);
          assert.equal(typeof r.locations[0].physicalLocation.artifactLocation.uri, 'string');
        }
      }
    });

    it('print findings as table rows with the same columns', async () => {
      for (const [name, args] of Object.entries(linters())) {
        const result = await cli([...args, '-f', 'value', '-c', 'severity', '-c', 'rule']);
        assert.equal(result.code, 1, name);
        assert.match(result.stdout, /^error \S+$/m, name);
      }
    });
  });

  describe('image release list', () => {
    let service: TestServer;
    let imageId: string;

    before(async () => {
      service = await startTestServer();
      const token = await service.token();
      const headers = { 'x-auth-token': token };
      const created = await fetch(`${service.url}/image/v2/images`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'debian-13-golden', disk_format: 'raw', container_format: 'bare' }),
      });
      imageId = ((await created.json()) as { id: string }).id;
      const uploaded = await fetch(`${service.url}/image/v2/images/${imageId}/file`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(4096, 1),
      });
      assert.equal(uploaded.status, 204);
    });
    after(() => service.stop());

    it('prints a header and the image name beside its id', async () => {
      const env = clientEnvironment(service.url, dir);
      const requested = await cli(['image', 'release', 'request', imageId, '--target', 'catalog'], env);
      assert.equal(requested.code, 0, requested.stderr);
      const listed = await cli(['image', 'release', 'list'], env);
      assert.equal(listed.code, 0, listed.stderr);
      const [, header, , row] = listed.stdout.split('\n');
      const cells = (line: string) => line.split('|').map((cell) => cell.trim());
      const columns = cells(header);
      for (const column of ['id', 'image_name', 'image_id', 'target', 'status'])
        assert.ok(columns.includes(column));
      assert.equal(cells(row)[columns.indexOf('image_name')], 'debian-13-golden');
      assert.equal(cells(row)[columns.indexOf('image_id')], imageId);
      const json = JSON.parse((await cli(['image', 'release', 'list', '-f', 'json'], env)).stdout);
      assert.equal(json[0].image_name, 'debian-13-golden');
    });
  });
});
