// The QMP and guest-agent clients against fake servers on unix sockets that speak the wire protocols.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GuestAgentClient, GuestAgentError } from '../../../src/pipeline/boot/guest-agent.ts';
import { QmpClient, QmpError } from '../../../src/pipeline/boot/qmp.ts';

const dir = mkdtempSync(join(tmpdir(), 'imagetrust-boot-proto-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function serve(
  path: string,
  onLine: (line: Record<string, unknown>, socket: Socket) => void,
  greet?: (socket: Socket) => void,
): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      greet?.(socket);
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1').replace(/\xff/g, '');
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) onLine(JSON.parse(line), socket);
          newline = buffer.indexOf('\n');
        }
      });
    });
    server.listen(path, () => resolve(server));
  });
}

const signal = () => AbortSignal.timeout(5000);
const send = (socket: Socket, message: unknown) => socket.write(`${JSON.stringify(message)}\n`);

describe('QmpClient', () => {
  it('negotiates capabilities, matches answers by id, reports errors and waits for events', async () => {
    const path = join(dir, 'qmp.sock');
    const server = await serve(
      path,
      (line, socket) => {
        if (line.execute === 'qmp_capabilities') return send(socket, { return: {}, id: line.id });
        if (line.execute === 'device_del') {
          // The event comes before the answer, as QEMU may order them.
          send(socket, { event: 'DEVICE_DELETED', data: { device: (line.arguments as { id: string }).id } });
          return send(socket, { return: {}, id: line.id });
        }
        send(socket, { error: { class: 'GenericError', desc: 'no such command' }, id: line.id });
      },
      (socket) => send(socket, { QMP: { version: {}, capabilities: [] } }),
    );
    try {
      const qmp = await QmpClient.connect(path, signal());
      await qmp.execute('device_del', { id: 'hotdisk' }, signal());
      const event = await qmp.waitForEvent('DEVICE_DELETED', (data) => data.device === 'hotdisk', signal());
      assert.equal((event.data as { device: string }).device, 'hotdisk');
      await assert.rejects(qmp.execute('nonsense', undefined, signal()), QmpError);
      qmp.close();
    } finally {
      server.close();
    }
  });
});

describe('GuestAgentClient', () => {
  it('syncs past stale answers, runs guest-exec and polls guest-exec-status until the command exits', async () => {
    const path = join(dir, 'qga.sock');
    let polls = 0;
    const server = await serve(path, (line, socket) => {
      const args = (line.arguments ?? {}) as Record<string, unknown>;
      switch (line.execute) {
        case 'guest-sync-delimited':
          // A stale answer to an earlier sync first, then ours behind the 0xFF delimiter.
          socket.write(`${JSON.stringify({ return: 12345 })}\n`);
          socket.write(
            Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify({ return: args.id })}\n`)]),
          );
          return;
        case 'guest-exec':
          assert.deepEqual(args, {
            path: '/bin/sh',
            arg: ['-c', 'echo hi; echo oops >&2; exit 3'],
            'capture-output': true,
          });
          return send(socket, { return: { pid: 42 } });
        case 'guest-exec-status':
          polls += 1;
          return send(socket, {
            return:
              polls < 2
                ? { exited: false }
                : {
                    exited: true,
                    exitcode: 3,
                    'out-data': Buffer.from('hi\n').toString('base64'),
                    'err-data': Buffer.from('oops\n').toString('base64'),
                  },
          });
        default:
          send(socket, { error: { class: 'CommandNotFound', desc: `${line.execute} unknown` } });
      }
    });
    try {
      const agent = await GuestAgentClient.connect(path, signal());
      await agent.sync(signal());
      const result = await agent.exec('echo hi; echo oops >&2; exit 3', signal());
      assert.deepEqual(result, { exitCode: 3, stdout: 'hi\n', stderr: 'oops\n' });
      assert.equal(polls, 2);
      await assert.rejects(agent.request('guest-nope', undefined, signal()), GuestAgentError);
      agent.close();
    } finally {
      server.close();
    }
  });

  // The timeout: a client that takes the stale answer polls a command that never ends.
  it('never takes the late answer of a request given up (a test that timed out) for the next one', {
    timeout: 20_000,
  }, async () => {
    const path = join(dir, 'late.sock');
    let slowSocket: Socket | null = null;
    const server = await serve(path, (line, socket) => {
      const args = (line.arguments ?? {}) as Record<string, unknown>;
      switch (line.execute) {
        case 'guest-sync-delimited':
          return socket.write(
            Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify({ return: args.id })}\n`)]),
          );
        case 'guest-exec':
          // The first command's answer is held back until the client has given up on it.
          if ((args.arg as string[])[1] === 'slow') {
            slowSocket = socket;
            return;
          }
          return send(socket, { return: { pid: 7 } });
        case 'guest-exec-status': {
          // Each command's own output: the slow one's (pid 99) must never be taken for the next one's.
          const output = args.pid === 99 ? 'stale\n' : 'fresh\n';
          return send(socket, {
            return: { exited: true, exitcode: 0, 'out-data': Buffer.from(output).toString('base64') },
          });
        }
      }
    });
    let agent: GuestAgentClient | undefined;
    try {
      agent = await GuestAgentClient.connect(path, signal());
      await agent.sync(signal());
      await assert.rejects(agent.exec('slow', AbortSignal.timeout(200)));
      // Now the given-up command's answer arrives, just as the next command is sent.
      const next = agent.exec('fast', signal());
      send(slowSocket as unknown as Socket, { return: { pid: 99 } });
      assert.deepEqual(await next, { exitCode: 0, stdout: 'fresh\n', stderr: '' });
    } finally {
      // Closed whatever happened: a client polling a stale pid would otherwise keep the file running.
      agent?.close();
      server.close();
    }
  });

  it('gives up a sync when its signal aborts and the agent never answers', async () => {
    const path = join(dir, 'silent.sock');
    const server = await serve(path, () => {});
    try {
      const agent = await GuestAgentClient.connect(path, signal());
      await assert.rejects(agent.sync(AbortSignal.timeout(300)));
      agent.close();
    } finally {
      server.close();
    }
  });
});
