// The boot gate runs once per instance boot, so what `imagetrust fetch` loads before its first request is
// paid every time. It loaded 168 modules (the SQL layer, the policy engine, YAML) until its imports were
// narrowed to what it uses; this keeps them narrow. The module list comes from a load hook in the child.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../support/tools.ts';

const BIN = new URL('../../bin/imagetrust', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).href;

/** Parts of the project and packages the gate has no use for (the service's side, other commands'). */
const NOT_FOR_THE_GATE = [
  'src/server/',
  'src/app/',
  'src/storage/sql/',
  'src/storage/blobs/',
  'src/identity/',
  'src/containers/',
  'src/admission/',
  'src/pipeline/',
  'src/posture/',
  'src/audit/',
  'src/events/',
  'src/keys/',
  'src/config/',
  'node_modules/fastify/',
  'node_modules/yaml/',
  'node_modules/zod/',
  'node_modules/ajv/',
  'node_modules/prom-client/',
  'node_modules/pino/',
  'node_modules/cli-progress/',
];

describe('imagetrust fetch start-up', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'imagetrust-fetch-startup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads only the client, the gate, trust and the digester before its first request', async () => {
    const list = path.join(dir, 'loaded.txt');
    const builtins = path.join(dir, 'builtins.txt');
    const hook = path.join(dir, 'trace-loads.mjs');
    writeFileSync(
      hook,
      [
        "import { registerHooks } from 'node:module';",
        "import { appendFileSync, writeFileSync } from 'node:fs';",
        'registerHooks({',
        '  load(url, context, next) {',
        `    if (url.startsWith('file:')) appendFileSync(${JSON.stringify(list)}, url + '\\n');`,
        '    return next(url, context);',
        '  },',
        '});',
        // Node's own modules do not pass through the hook: the process lists them itself.
        `process.on('exit', () => writeFileSync(${JSON.stringify(builtins)}, process.moduleLoadList.join('\\n')));`,
      ].join('\n'),
    );
    // Nothing listens on port 9: the command has loaded everything it imports when it fails to connect.
    const result = await run(BIN, ['fetch', 'an-image', '--cache-dir', path.join(dir, 'cache')], {
      IMAGETRUST_CONFIG: '',
      NODE_OPTIONS: `--import=${hook}`,
      OS_AUTH_URL: 'http://127.0.0.1:9/identity/v3',
      OS_TOKEN: 'a-token',
      OS_CLOUD: '',
      OS_PASSWORD: '',
    });
    assert.equal(result.code, 69, result.stderr);
    assert.match(result.stderr, /Cannot reach http:\/\/127\.0\.0\.1:9.*\[SERVICE_UNREACHABLE\]/);
    const loaded = readFileSync(list, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((url) => (url.startsWith(ROOT) ? url.slice(ROOT.length) : url));
    // The hook saw the gate itself: an empty list would prove nothing.
    assert.ok(loaded.includes('src/gate/index.ts'), loaded.join('\n'));
    assert.ok(loaded.includes('src/storage/digest/index.ts'), loaded.join('\n'));
    const unwanted = loaded.filter((file) => NOT_FOR_THE_GATE.some((prefix) => file.startsWith(prefix)));
    assert.deepEqual(
      unwanted,
      [],
      `imagetrust fetch loaded modules it does not use:\n${unwanted.join('\n')}`,
    );
    assert.ok(loaded.length < 80, `imagetrust fetch loaded ${loaded.length} files:\n${loaded.join('\n')}`);
    // An ES import of node:http reads its lazy WebSocket/CloseEvent/MessageEvent exports, which loads
    // Node's bundled undici with http2 and zlib: 60-90 ms of every boot's gate (src/http/node-http.ts).
    const internals = readFileSync(builtins, 'utf8').split('\n');
    assert.ok(internals.includes('NativeModule crypto'), internals.join('\n'));
    const heavy = internals.filter((name) => /undici|http2|zlib/.test(name));
    assert.deepEqual(heavy, [], `imagetrust fetch loaded Node modules it does not use:\n${heavy.join('\n')}`);
  });
});
