// Glance's [import_filtering_opts] (validate_import_uri) as a pure rule: defaults, allowed lists that
// make their disallowed lists ignored, ports checked only when the URI names one, hosts normalised.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_IMPORT_URI_FILTER,
  type ImportUriFilter,
  isImportUriAllowed,
} from '../../src/catalog/index.ts';

const filter = (overrides: Partial<ImportUriFilter>): ImportUriFilter => ({
  ...DEFAULT_IMPORT_URI_FILTER,
  ...overrides,
});

describe('isImportUriAllowed', () => {
  it('passes http and https on the default ports, and a URI naming no port', () => {
    for (const uri of [
      'http://example.com/image.qcow2',
      'https://example.com/image.qcow2',
      'http://example.com:80/x',
      'https://example.com:443/x',
      'http://user:pass@example.com/x',
    ]) {
      assert.equal(isImportUriAllowed(uri, DEFAULT_IMPORT_URI_FILTER), true, uri);
    }
  });

  it('refuses other schemes, other explicit ports, and what is no URI at all', () => {
    for (const uri of [
      'ftp://example.com/x',
      'file:///etc/passwd',
      'http://example.com:8080/x',
      'https://example.com:80443/x',
      '',
      'example.com/x',
      'http://',
      undefined,
      42,
    ]) {
      assert.equal(isImportUriAllowed(uri, DEFAULT_IMPORT_URI_FILTER), false, String(uri));
    }
  });

  it('uses only the allowed list when both lists are set, as Glance does', () => {
    const both = filter({ allowedHosts: ['good.example'], disallowedHosts: ['good.example', 'bad.example'] });
    assert.equal(isImportUriAllowed('http://good.example/x', both), true);
    assert.equal(isImportUriAllowed('http://other.example/x', both), false);
    const ports = filter({ allowedPorts: [], disallowedPorts: [8080] });
    assert.equal(isImportUriAllowed('http://a.example:8081/x', ports), true);
    assert.equal(isImportUriAllowed('http://a.example:8080/x', ports), false);
    const schemes = filter({ allowedSchemes: [], disallowedSchemes: ['http'] });
    assert.equal(isImportUriAllowed('http://a.example/x', schemes), false);
    assert.equal(isImportUriAllowed('https://a.example/x', schemes), true);
  });

  it('compares hosts normalised: case, IPv6 brackets, and numeric IPv4 forms', () => {
    const refused = filter({ disallowedHosts: ['bad.example', '127.0.0.1', '::1'] });
    assert.equal(isImportUriAllowed('http://BAD.example/x', refused), false);
    assert.equal(isImportUriAllowed('http://2130706433/x', refused), false, '2130706433 is 127.0.0.1');
    assert.equal(isImportUriAllowed('http://0x7f.1/x', refused), false);
    assert.equal(isImportUriAllowed('http://[::1]/x', refused), false);
    assert.equal(isImportUriAllowed('http://[::1]:80/x', refused), false);
    assert.equal(isImportUriAllowed('http://good.example/x', refused), true);
  });

  it('checks the port an IPv6 literal names, and not the address’s own colons', () => {
    assert.equal(isImportUriAllowed('http://[2001:db8::1]/x', DEFAULT_IMPORT_URI_FILTER), true);
    assert.equal(isImportUriAllowed('http://[2001:db8::1]:8080/x', DEFAULT_IMPORT_URI_FILTER), false);
  });
});
