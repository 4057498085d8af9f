// A QMP client: the greeting, capabilities negotiation, commands matched to answers by id, and events
// (DEVICE_DELETED, SHUTDOWN) a caller can wait for.
import { type JsonMessage, JsonSocket } from './json-socket.ts';

export class QmpError extends Error {}

export class QmpClient {
  private readonly socket: JsonSocket;
  private nextId = 1;
  private readonly events: JsonMessage[] = [];

  private constructor(socket: JsonSocket) {
    this.socket = socket;
    socket.onMessage((message) => {
      if (typeof message.event === 'string') this.events.push(message);
    });
  }

  static async connect(path: string, signal: AbortSignal): Promise<QmpClient> {
    const socket = await JsonSocket.open(path, signal);
    const greeting = socket.next((message) => 'QMP' in message, signal);
    const client = new QmpClient(socket);
    await greeting;
    await client.execute('qmp_capabilities', undefined, signal);
    return client;
  }

  async execute(command: string, args: JsonMessage | undefined, signal: AbortSignal): Promise<unknown> {
    const id = `it-${this.nextId++}`;
    const answer = this.socket.next((message) => message.id === id, signal);
    this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    const message = await answer;
    if (message.error) {
      const error = message.error as { class?: string; desc?: string };
      throw new QmpError(`QMP ${command}: ${error.desc ?? error.class ?? 'failed'}`);
    }
    return message.return;
  }

  /** Waits for an event, including one that arrived since the last call. */
  async waitForEvent(
    name: string,
    match: (data: JsonMessage) => boolean,
    signal: AbortSignal,
  ): Promise<JsonMessage> {
    const seen = this.events.findIndex(
      (event) => event.event === name && match((event.data ?? {}) as JsonMessage),
    );
    if (seen >= 0) return this.events.splice(seen, 1)[0];
    const event = await this.socket.next(
      (message) => message.event === name && match((message.data ?? {}) as JsonMessage),
      signal,
    );
    this.events.splice(this.events.indexOf(event), 1);
    return event;
  }

  close(): void {
    this.socket.close();
  }
}
