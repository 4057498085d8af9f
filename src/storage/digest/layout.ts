// The shared-memory contract between the digester and its workers (digest-worker.js reads these shapes).

/** Indexes into the control Int32Array. */
export const CONTROL = {
  /** How many slots have been published so far (monotonic). */
  published: 0,
  /** 0 running, 1 ended (finish after the last published slot), 2 aborted. */
  state: 1,
  /** Bumped and notified on every change, so a sleeping worker never misses one. */
  signal: 2,
} as const;

export const CONTROL_LENGTH = 3;

import type { SignatureCheck } from '../../trust/index.ts';

/** A hash to compute, or the node:crypto verify call trust/ made from a checked spec, to run as it is. */
export type Consumer = { kind: 'hash'; algorithm: string } | { kind: 'verify'; check: SignatureCheck };

export interface StartMessage {
  /** The CONTROL indexes, so the plain-JavaScript worker needs no import. */
  indexes: typeof CONTROL;
  control: SharedArrayBuffer;
  lengths: SharedArrayBuffer;
  pending: SharedArrayBuffer;
  data: SharedArrayBuffer;
  slots: number;
  slotSize: number;
  consumers: Consumer[];
}
