import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStageProgress } from '../../src/cli/progress.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: {
      isTTY,
      columns: 80,
      write: (text: string) => writes.push(text),
    } as unknown as NodeJS.WriteStream,
  };
}

describe('createStageProgress', () => {
  it('prints one plain line per stage when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const progress = createStageProgress('test-boot', { stream });
    progress.stage('booting');
    progress.stage('running tests');
    progress.stop();
    assert.deepEqual(writes, ['test-boot: booting\n', 'test-boot: running tests\n']);
  });

  it('redraws one line with the time spent on a terminal and clears it at the end', () => {
    const { writes, stream } = fakeStream(true);
    let now = 0;
    const progress = createStageProgress('test-boot', { stream, now: () => now });
    now = 65_000;
    progress.stage('waiting for the guest agent');
    progress.stop();
    assert.equal(writes[0], '\r\x1b[2Ktest-boot 1:05 waiting for the guest agent');
    assert.equal(writes.at(-1), '\r\x1b[2K');
  });
});
