// A unix-socket connection that speaks newline-delimited JSON, as QMP and the QEMU guest agent do.
// 0xFF bytes (the guest agent's sync delimiter) reset the line being read.
import { connect, type Socket } from 'node:net';

export type JsonMessage = Record<string, unknown>;

export class JsonSocket {
  private readonly socket: Socket;
  private buffer = '';
  private readonly listeners = new Set<(message: JsonMessage) => void>();
  private readonly closeListeners = new Set<() => void>();
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const listener of this.closeListeners) listener();
    });
  }

  /** Connects, retrying while the socket file is not there yet or refuses (QEMU still starting). */
  static async open(path: string, signal: AbortSignal): Promise<JsonSocket> {
    for (;;) {
      signal.throwIfAborted();
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new JsonSocket(socket);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private receive(chunk: Buffer): void {
    const at = chunk.lastIndexOf(0xff);
    if (at >= 0) {
      this.buffer = '';
      chunk = chunk.subarray(at + 1);
    }
    this.buffer += chunk.toString('utf8');
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) {
        try {
          const message = JSON.parse(line) as JsonMessage;
          for (const listener of this.listeners) listener(message);
        } catch {
          // A line cut by a reset or a stale partial answer: not ours to parse.
        }
      }
      newline = this.buffer.indexOf('\n');
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  onMessage(listener: (message: JsonMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Resolves with the first message `match` accepts; rejects on abort or when the socket closes. */
  next(match: (message: JsonMessage) => boolean, signal: AbortSignal): Promise<JsonMessage> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        offMessage();
        offClose();
        signal.removeEventListener('abort', onAbort);
      };
      const offMessage = this.onMessage((message) => {
        if (!match(message)) return;
        cleanup();
        resolve(message);
      });
      const offClose = this.onClose(() => {
        cleanup();
        reject(new Error('the connection closed (QEMU exited?)'));
      });
      const onAbort = () => {
        cleanup();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (this.closed) {
        offClose();
        return reject(new Error('the connection is closed'));
      }
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
