// The guard on requests made for a tenant: which addresses are internal, literal addresses refused
// before connecting, names checked on what they resolve to, and the operator's exceptions by host or port.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { createDestinationGuard, isInternalAddress } from '../../src/containers/index.ts';
import { ImageTrustError } from '../../src/errors/index.ts';

/** Resolves `hostname` through the guard's lookup, as http.request would. */
function resolveThrough(url: string, allowed: string[] = []): Promise<string> {
  const { lookup } = createDestinationGuard(allowed).requestOptions(new URL(url));
  return new Promise((resolve, reject) =>
    lookup(new URL(url).hostname, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(JSON.stringify(addresses)),
    ),
  );
}

describe('destination guard', () => {
  it('classifies loopback, private, link-local, CGNAT, multicast and mapped addresses as internal', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.0.9',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '[::1]',
      'not-an-address',
    ]) {
      assert.equal(isInternalAddress(address), true, address);
    }
    for (const address of [
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2001:4860:4860::8888',
      '::ffff:8.8.8.8',
    ]) {
      assert.equal(isInternalAddress(address), false, address);
    }
  });

  it('refuses a literal internal address before connecting, unless the operator allowed it', () => {
    const guard = createDestinationGuard(['10.0.0.5', 'registry.internal:5000']);
    assert.throws(
      () => guard.requestOptions(new URL('http://169.254.169.254/latest/meta-data')),
      (error: unknown) => error instanceof ImageTrustError && error.code === 'FORBIDDEN',
    );
    assert.throws(() => guard.requestOptions(new URL('http://[::1]:8080/')), /internal address/);
    assert.ok(guard.requestOptions(new URL('https://10.0.0.5:443/v2/')).lookup);
    assert.ok(guard.requestOptions(new URL('https://8.8.8.8/v2/')).lookup);
  });

  it('refuses names that resolve to internal addresses, with the exceptions bound to their port', async () => {
    await assert.rejects(resolveThrough('http://localhost:8080/'), /Refusing to connect to localhost/);
    assert.match(await resolveThrough('http://localhost:8080/', ['localhost']), /127\.0\.0\.1|::1/);
    assert.match(await resolveThrough('http://localhost:8080/', ['localhost:8080']), /127\.0\.0\.1|::1/);
    await assert.rejects(resolveThrough('http://localhost:9090/', ['localhost:8080']), /internal address/);
  });

  it('makes a real request fail with the refusal, not a connection error', async () => {
    const { lookup } = createDestinationGuard([]).requestOptions(new URL('http://localhost:1/'));
    const error = await new Promise<Error>((resolve) => {
      const req = request('http://localhost:1/', { lookup });
      req.on('error', resolve);
      req.end();
    });
    assert.ok(error instanceof ImageTrustError, String(error));
    assert.equal(error.code, 'FORBIDDEN');
  });
});
