// Progress bars show the size done, the rate and the time left; the clock is injected, so the numbers
// are exact and nothing waits.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createProgress, formatDuration, progressFields } from '../../src/cli/progress.ts';

const MiB = 1048576;

/** A stream that says it is a terminal, collecting what is drawn on it. */
function fakeTerminal() {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
  let drawn = '';
  stream.on('data', (chunk: Buffer) => {
    drawn += chunk.toString('utf8');
  });
  return { stream: stream as unknown as NodeJS.WriteStream, drawn: () => drawn };
}

describe('progress', () => {
  it('computes the rate and the time left from the bytes and the elapsed time', () => {
    assert.deepEqual(progressFields(10 * MiB, 30 * MiB, 2000), {
      value_mib: '10.0',
      total_mib: '30.0',
      rate: '5.0 MiB/s',
      left: '0:04',
    });
    assert.equal(progressFields(0, 30 * MiB, 0).left, '--:--');
    assert.equal(formatDuration(3909), '1:05:09');
  });

  it('draws the rate and the time left on a terminal', async () => {
    const terminal = fakeTerminal();
    let now = 0;
    const progress = createProgress('upload disk.qcow2', 100 * MiB, {
      stream: terminal.stream,
      now: () => now,
    });
    now = 4000;
    progress.update(40 * MiB);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(terminal.drawn(), /upload disk\.qcow2 .*40\.0\/100\.0 MiB \| 10\.0 MiB\/s \| 0:06 left/);
  });

  it('draws nothing when the stream is not a terminal', async () => {
    const stream = new PassThrough();
    let drawn = '';
    stream.on('data', (chunk: Buffer) => {
      drawn += chunk;
    });
    const progress = createProgress('x', 10, { stream: stream as unknown as NodeJS.WriteStream });
    progress.update(5);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(drawn, '');
  });
});
