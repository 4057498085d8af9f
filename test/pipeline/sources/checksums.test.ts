// Checksum lists as sha256sum/sha512sum write them and as BSD tools tag them, including the hostile names
// a list may carry: they are data to compare, never paths.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findChecksumEntry, parseChecksumList } from '../../../src/pipeline/sources/index.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(128);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('parseChecksumList', () => {
  it('reads GNU text and binary markers', () => {
    const list = parseChecksumList(`${A}  debian.iso\n${B} *firmware.iso\n`);
    assert.deepEqual(list.entries, [
      { algorithm: 'sha256', hex: A, name: 'debian.iso', line: 1 },
      { algorithm: 'sha256', hex: B, name: 'firmware.iso', line: 2 },
    ]);
    assert.deepEqual(list.problems, []);
  });

  it('tells sha512 from sha256 by digest length and lower-cases hex', () => {
    const list = parseChecksumList(`${C.toUpperCase()}  debian.iso\n`);
    assert.equal(list.entries[0].algorithm, 'sha512');
    assert.equal(list.entries[0].hex, C);
  });

  it('reads BSD-style tagged lines, with and without spaces', () => {
    const list = parseChecksumList(
      `SHA256 (debian.iso) = ${A}\nSHA512 (other.iso)= ${C}\nSHA256(x.iso)=${B}\n`,
    );
    assert.deepEqual(
      list.entries.map((e) => [e.algorithm, e.name, e.hex]),
      [
        ['sha256', 'debian.iso', A],
        ['sha512', 'other.iso', C],
        ['sha256', 'x.iso', B],
      ],
    );
  });

  it('keeps names with spaces and parentheses whole', () => {
    const list = parseChecksumList(`${A}  my disk (1).iso\nSHA256 (my disk (2).iso) = ${B}\n`);
    assert.deepEqual(
      list.entries.map((e) => e.name),
      ['my disk (1).iso', 'my disk (2).iso'],
    );
  });

  it('unescapes GNU backslash-marked names', () => {
    const list = parseChecksumList(`\\${A}  odd\\\\name\\nline.iso\n`);
    assert.equal(list.entries[0].name, 'odd\\name\nline.iso');
  });

  it('skips blank lines and comments, accepts CRLF, and reports malformed lines', () => {
    const list = parseChecksumList(
      `# signed list\r\n\r\n${A}  a.iso\r\nnonsense\n${'d'.repeat(40)}  sha1.iso\nSHA256 (short.iso) = abc\n`,
    );
    assert.deepEqual(
      list.entries.map((e) => e.name),
      ['a.iso'],
    );
    assert.deepEqual(
      list.problems.map((p) => p.line),
      [4, 5, 6],
    );
  });
});

describe('findChecksumEntry', () => {
  it('finds a line by bare name, also when the list writes ./name', () => {
    const list = parseChecksumList(`${A}  ./debian.iso\n${B}  other.iso\n`);
    assert.equal(findChecksumEntry(list, 'debian.iso').hex, A);
    assert.equal(findChecksumEntry(list, 'other.iso').hex, B);
  });

  it('refuses a name the list does not carry', () => {
    const list = parseChecksumList(`${A}  debian.iso\n`);
    assert.equal(
      codeOf(() => findChecksumEntry(list, 'ubuntu.iso')),
      'SOURCE_NOT_LISTED',
    );
  });

  it('never selects a hostile path line, and refuses lookups that are paths', () => {
    const list = parseChecksumList(
      `${A}  ../../etc/debian.iso\n${A}  /abs/debian.iso\n${A}  sub/debian.iso\n`,
    );
    assert.equal(list.entries.length, 3);
    assert.equal(
      codeOf(() => findChecksumEntry(list, 'debian.iso')),
      'SOURCE_NOT_LISTED',
    );
    assert.equal(
      codeOf(() => findChecksumEntry(list, '../../etc/debian.iso')),
      'SOURCE_NOT_LISTED',
    );
    assert.equal(
      codeOf(() => findChecksumEntry(list, '/abs/debian.iso')),
      'SOURCE_NOT_LISTED',
    );
  });

  it('prefers sha512 over sha256 for the same name', () => {
    const list = parseChecksumList(`${A}  debian.iso\n${C}  debian.iso\n`);
    assert.equal(findChecksumEntry(list, 'debian.iso').algorithm, 'sha512');
  });

  it('refuses conflicting digests for one name', () => {
    const list = parseChecksumList(`${A}  debian.iso\n${B}  debian.iso\n`);
    assert.equal(
      codeOf(() => findChecksumEntry(list, 'debian.iso')),
      'SOURCE_NOT_LISTED',
    );
  });

  it('accepts the same digest listed twice', () => {
    const list = parseChecksumList(`${A}  debian.iso\nSHA256 (debian.iso) = ${A}\n`);
    assert.equal(findChecksumEntry(list, 'debian.iso').hex, A);
  });
});
