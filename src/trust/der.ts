// A minimal DER reader and writer: just the ASN.1 that X.509 certificates need. Node's X509Certificate
// hides fields cursive relies on (pathLenConstraint, the KeyUsage bits, the to-be-signed bytes).

/** One DER element: its tag byte and where its header and contents lie in the source buffer. */
export interface DerElement {
  tag: number;
  /** The whole element, header included. */
  bytes: Buffer;
  contents: Buffer;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Thrown for malformed input; callers turn it into their own coded error. */
export class DerError extends Error {}

/** Reads the element starting at `offset`; rejects indefinite and non-minimal lengths, as DER demands. */
export function readElement(buffer: Buffer, offset = 0): DerElement {
  if (offset + 2 > buffer.length) throw new DerError('truncated DER header');
  const tag = buffer[offset];
  // Multi-byte tags never occur in X.509; refusing them keeps the reader small and strict.
  if ((tag & 0x1f) === 0x1f) throw new DerError('high-tag-number form is not supported');
  let length = buffer[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError('indefinite length is not DER');
    if (count > 4) throw new DerError('DER length too large');
    if (offset + 2 + count > buffer.length) throw new DerError('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[offset + 2 + i];
    if (length < 0x80 || buffer[offset + 2] === 0) throw new DerError('non-minimal DER length');
    header += count;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new DerError('DER element runs past the end of its container');
  return {
    tag,
    bytes: buffer.subarray(offset, end),
    contents: buffer.subarray(offset + header, end),
  };
}

/** Reads a buffer that must hold exactly one element. */
export function readSingle(buffer: Buffer, expectedTag?: number): DerElement {
  const element = readElement(buffer);
  if (element.bytes.length !== buffer.length) throw new DerError('trailing bytes after DER element');
  if (expectedTag !== undefined) expectTag(element, expectedTag);
  return element;
}

/** The elements inside a constructed element (SEQUENCE, SET, or an explicit tag). */
export function readChildren(element: DerElement): DerElement[] {
  if ((element.tag & 0x20) === 0) throw new DerError('primitive element has no children');
  const children: DerElement[] = [];
  for (let offset = 0; offset < element.contents.length; ) {
    const child = readElement(element.contents, offset);
    children.push(child);
    offset += child.bytes.length;
  }
  return children;
}

/** Checks an element's tag; a missing element (a structure cut short) fails the same way. */
export function expectTag(element: DerElement | undefined, tag: number): DerElement {
  if (!element) throw new DerError(`missing DER element with tag 0x${tag.toString(16)}`);
  if (element.tag !== tag) {
    throw new DerError(`expected DER tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
  }
  return element;
}

export function readOid(element: DerElement): string {
  const bytes = expectTag(element, TAG.OID).contents;
  if (bytes.length === 0) throw new DerError('empty OID');
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) {
    if (value === 0n && bytes[i] === 0x80) throw new DerError('non-minimal OID arc');
    value = (value << 7n) | BigInt(bytes[i] & 0x7f);
    if ((bytes[i] & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (i === bytes.length - 1) {
      throw new DerError('truncated OID arc');
    }
  }
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join('.');
}

export function readBoolean(element: DerElement): boolean {
  const bytes = expectTag(element, TAG.BOOLEAN).contents;
  if (bytes.length !== 1 || (bytes[0] !== 0 && bytes[0] !== 0xff)) throw new DerError('bad DER BOOLEAN');
  return bytes[0] === 0xff;
}

export function readInteger(element: DerElement): bigint {
  const bytes = expectTag(element, TAG.INTEGER).contents;
  if (bytes.length === 0) throw new DerError('empty INTEGER');
  let value = BigInt.asIntN(8, BigInt(bytes[0]));
  for (let i = 1; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** The bytes of a BIT STRING and how many bits of its last byte are unused. */
export function readBitString(element: DerElement): { bytes: Buffer; unusedBits: number } {
  const contents = expectTag(element, TAG.BIT_STRING).contents;
  if (contents.length === 0 || contents[0] > 7 || (contents.length === 1 && contents[0] !== 0)) {
    throw new DerError('bad DER BIT STRING');
  }
  return { bytes: contents.subarray(1), unusedBits: contents[0] };
}

export function readTime(element: DerElement): Date {
  const text = element.contents.toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (element.tag === TAG.UTC_TIME) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!match) throw new DerError('bad UTCTime');
    // RFC 5280 4.1.2.5.1: two-digit years 50..99 are 19xx, 00..49 are 20xx.
    year = Number(match[1]) + (Number(match[1]) >= 50 ? 1900 : 2000);
  } else if (element.tag === TAG.GENERALIZED_TIME) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!match) throw new DerError('bad GeneralizedTime');
    year = Number(match[1]);
  } else {
    throw new DerError('expected a DER time');
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** Decodes the directory-string types found in names. */
export function readString(element: DerElement): string {
  switch (element.tag) {
    case TAG.BMP_STRING:
      return Buffer.from(element.contents).swap16().toString('utf16le');
    case TAG.UNIVERSAL_STRING: {
      const codePoints: number[] = [];
      for (let i = 0; i + 4 <= element.contents.length; i += 4)
        codePoints.push(element.contents.readUInt32BE(i));
      return String.fromCodePoint(...codePoints);
    }
    case TAG.TELETEX_STRING:
      return element.contents.toString('latin1');
    default:
      return element.contents.toString('utf8');
  }
}

// --- writing ---

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encodeElement(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(contents.length), contents]);
}

export function encodeSequence(...elements: Buffer[]): Buffer {
  return encodeElement(TAG.SEQUENCE, Buffer.concat(elements));
}

export function encodeSet(...elements: Buffer[]): Buffer {
  return encodeElement(TAG.SET, Buffer.concat(elements));
}

/** An explicit context tag [n] wrapping one element. */
export function encodeExplicit(tagNumber: number, element: Buffer): Buffer {
  return encodeElement(0xa0 | tagNumber, element);
}

export function encodeNull(): Buffer {
  return Buffer.from([TAG.NULL, 0]);
}

export function encodeBoolean(value: boolean): Buffer {
  return encodeElement(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0]));
}

export function encodeInteger(value: bigint | number): Buffer {
  let rest = BigInt(value);
  const bytes: number[] = [];
  // Emit two's complement bytes until the sign of the top byte matches the value's sign.
  do {
    bytes.unshift(Number(rest & 0xffn));
    rest >>= 8n;
  } while (!((rest === 0n && (bytes[0] & 0x80) === 0) || (rest === -1n && (bytes[0] & 0x80) !== 0)));
  return encodeElement(TAG.INTEGER, Buffer.from(bytes));
}

export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map(BigInt);
  if (arcs.length < 2) throw new DerError(`bad OID ${oid}`);
  const values = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const value of values) {
    const group: number[] = [Number(value & 0x7fn)];
    for (let rest = value >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  return encodeElement(TAG.OID, Buffer.from(bytes));
}

export function encodeOctetString(bytes: Buffer): Buffer {
  return encodeElement(TAG.OCTET_STRING, bytes);
}

export function encodeBitString(bytes: Buffer, unusedBits = 0): Buffer {
  return encodeElement(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

export function encodeUtf8String(text: string): Buffer {
  return encodeElement(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
}

/** UTCTime for 1950..2049 and GeneralizedTime otherwise, as RFC 5280 4.1.2.5 requires. */
export function encodeTime(date: Date): Buffer {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const year = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    'Z';
  if (year >= 1950 && year < 2050) return encodeElement(TAG.UTC_TIME, Buffer.from(pad(year % 100) + rest));
  return encodeElement(TAG.GENERALIZED_TIME, Buffer.from(pad(year, 4) + rest));
}
