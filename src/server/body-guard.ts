// Request bodies that stall or trickle hold a connection, a file and an upload lease for as long as the
// client likes. Upload bodies must keep moving (an idle limit) and keep a minimum rate over a sliding
// window; a JSON body must arrive whole within a deadline. The check uses a monotonic clock: it measures
// durations, never dates.
import type { FastifyInstance } from 'fastify';
import { IntegrityError } from '../errors/index.ts';

export interface UploadBodyLimits {
  idleMs: number;
  /** 0: no minimum. */
  minBytesPerSecond: number;
  rateWindowMs: number;
}

export interface GuardedBody {
  body: AsyncIterable<Uint8Array>;
  stop(): void;
}

/**
 * Passes `source` through, counting bytes; calls `abort` with BODY_TIMEOUT when nothing arrives for
 * `idleMs`, or when, after the first window, less than the minimum arrived over the last window.
 */
export function guardUploadBody(
  source: AsyncIterable<Uint8Array>,
  limits: UploadBodyLimits,
  abort: (error: Error) => void,
  now: () => number = () => performance.now(),
): GuardedBody {
  let received = 0;
  let lastChunkAt = now();
  const startedAt = lastChunkAt;
  const samples: { at: number; bytes: number }[] = [{ at: startedAt, bytes: 0 }];
  const tick = Math.max(10, Math.min(limits.idleMs, limits.rateWindowMs) / 4);
  const timer = setInterval(() => {
    const t = now();
    if (t - lastChunkAt >= limits.idleMs) {
      stop();
      abort(
        new IntegrityError(
          'BODY_TIMEOUT',
          `No upload data arrived for ${Math.round(limits.idleMs / 1000)} s; the upload was aborted.`,
        ),
      );
      return;
    }
    samples.push({ at: t, bytes: received });
    while (samples.length > 1 && samples[1].at <= t - limits.rateWindowMs) samples.shift();
    const oldest = samples[0];
    if (
      limits.minBytesPerSecond > 0 &&
      t - startedAt >= limits.rateWindowMs &&
      oldest.at <= t - limits.rateWindowMs
    ) {
      const rate = (received - oldest.bytes) / ((t - oldest.at) / 1000);
      if (rate < limits.minBytesPerSecond) {
        stop();
        abort(
          new IntegrityError(
            'BODY_TIMEOUT',
            `The upload arrived at ${Math.round(rate)} bytes/s, below the minimum of ${limits.minBytesPerSecond}; it was aborted.`,
          ),
        );
      }
    }
  }, tick);
  timer.unref();
  const stop = () => clearInterval(timer);
  async function* counted(): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of source) {
        received += chunk.length;
        lastChunkAt = now();
        yield chunk;
      }
    } finally {
      stop();
    }
  }
  return { body: counted(), stop };
}

/** PUT /image/v2/images/:id/file and /stage: the two routes whose bodies are image data. */
function isImageDataRoute(method: string, route: string | undefined): boolean {
  return method === 'PUT' && route !== undefined && /^\/image\/v2\/images\/:[^/]+\/(file|stage)$/.test(route);
}

/**
 * Gives every request with a body that is not image data `ms` to deliver it whole; past that the
 * connection is closed (the client that trickles a JSON body gets nothing more from us).
 */
export function limitJsonBodyTime(app: FastifyInstance, ms: number): void {
  app.addHook('onRequest', async (request) => {
    const hasBody =
      request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
    // Image data is guarded by guardUploadBody instead. Chosen by route, not by Content-Type: Glance reads
    // a JSON body sent as application/octet-stream too, and that one must arrive in time like any other.
    if (!hasBody || isImageDataRoute(request.method, request.routeOptions.url)) return;
    const timer = setTimeout(() => {
      // Received whole (read or not): the connection may already serve the next request; leave it.
      if (request.raw.complete) return;
      request.raw.destroy(
        new IntegrityError(
          'BODY_TIMEOUT',
          `The request body did not arrive within ${Math.round(ms / 1000)} s.`,
        ),
      );
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    request.raw.once('end', clear);
    request.raw.once('close', clear);
  });
}
