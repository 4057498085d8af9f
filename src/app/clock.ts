// The one place that reads the machine's clock; everything else is handed a Clock, so tests move time
// by hand instead of sleeping.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
