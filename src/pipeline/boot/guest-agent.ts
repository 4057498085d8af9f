// A QEMU guest agent client: guest-sync-delimited to find a live agent (and skip stale answers after a
// reboot), then guest-exec with captured output, polled with guest-exec-status.
import { randomInt } from 'node:crypto';
import { JsonSocket } from './json-socket.ts';
import type { CommandResult } from './types.ts';

export class GuestAgentError extends Error {}

const SYNC_ATTEMPT_MS = 5000;
const POLL_MS = 500;

export class GuestAgentClient {
  private readonly socket: JsonSocket;
  /** One request at a time: the agent answers in order and carries no ids. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * A request was given up before its answer came (its test timed out): that answer is still on its
   * way and would be taken for the next request's. The next request syncs first, which drops it.
   */
  private outOfStep = false;

  private constructor(socket: JsonSocket) {
    this.socket = socket;
  }

  static async connect(path: string, signal: AbortSignal): Promise<GuestAgentClient> {
    return new GuestAgentClient(await JsonSocket.open(path, signal));
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  /** Waits until the agent answers a sync with our id; retries until the signal aborts. */
  async sync(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const id = randomInt(1, 2 ** 31);
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(SYNC_ATTEMPT_MS)]);
      const answer = this.socket.next((message) => message.return === id, attempt);
      // 0xFF first: it resets the agent's parser if an earlier request was cut off.
      this.socket.write(
        Buffer.concat([
          Buffer.from([0xff]),
          Buffer.from(`${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } })}\n`),
        ]),
      );
      try {
        await answer;
        return;
      } catch (error) {
        if (signal.aborted || this.socket.closed) throw error;
      }
    }
  }

  /** One request and its answer; an agent error is a GuestAgentError. */
  request(command: string, args: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown> {
    const run = async () => {
      if (this.outOfStep) {
        // The agent answers in order: once our sync's id is back, every answer before it is gone.
        await this.sync(signal);
        this.outOfStep = false;
      }
      // A late answer to an abandoned sync carries a number; ours are objects (or an error).
      const answer = this.socket.next(
        (message) => 'error' in message || (typeof message.return === 'object' && message.return !== null),
        signal,
      );
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
      let message: Record<string, unknown>;
      try {
        message = await answer;
      } catch (error) {
        this.outOfStep = true;
        throw error;
      }
      if (message.error) {
        const error = message.error as { desc?: string; class?: string };
        throw new GuestAgentError(`guest agent ${command}: ${error.desc ?? error.class ?? 'failed'}`);
      }
      return message.return;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Runs `/bin/sh -c command` in the guest and waits for it, polling its status. */
  async exec(command: string, signal: AbortSignal): Promise<CommandResult> {
    const started = (await this.request(
      'guest-exec',
      { path: '/bin/sh', arg: ['-c', command], 'capture-output': true },
      signal,
    )) as { pid: number };
    for (;;) {
      const status = (await this.request('guest-exec-status', { pid: started.pid }, signal)) as {
        exited: boolean;
        exitcode?: number;
        signal?: number;
        'out-data'?: string;
        'err-data'?: string;
      };
      if (status.exited) {
        const decode = (data?: string) => (data ? Buffer.from(data, 'base64').toString('utf8') : '');
        return {
          exitCode: status.exitcode ?? (status.signal !== undefined ? 128 + status.signal : null),
          stdout: decode(status['out-data']),
          stderr: decode(status['err-data']),
        };
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, POLL_MS);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}
