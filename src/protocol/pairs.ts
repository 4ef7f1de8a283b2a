import { ProtocolError } from './errors';

/** NameValuePair: one FastCGI name-value pair (spec 3.4), bytes decoded as latin-1 (lossless). */
export type NameValuePair = [name: string, value: string];

const MAX_PAIR_LENGTH = 0x7fffffff;
const EMPTY = Buffer.alloc(0);

/** encodedLengthSize: 1 byte for lengths up to 127, else 4 bytes with the high bit set (spec 3.4). */
function encodedLengthSize(length: number): number {
  return length > 127 ? 4 : 1;
}

/** encodePairs: name-value pairs to bytes. Strings are written as latin-1, the inverse of decodePairs. */
export function encodePairs(pairs: Iterable<readonly [string, string]>): Buffer {
  const list: Array<readonly [string, string]> = [];
  let size = 0;
  for (const pair of pairs) {
    const [name, value] = pair;
    if (name.length > MAX_PAIR_LENGTH || value.length > MAX_PAIR_LENGTH) {
      throw new ProtocolError('FCGI_ERR_NAME_TOO_LONG', 'name or value longer than 2^31-1 bytes');
    }
    size += encodedLengthSize(name.length) + encodedLengthSize(value.length) + name.length + value.length;
    list.push(pair);
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [name, value] of list) {
    offset = writeLength(out, offset, name.length);
    offset = writeLength(out, offset, value.length);
    offset += out.write(name, offset, 'latin1');
    offset += out.write(value, offset, 'latin1');
  }
  return out;
}

function writeLength(out: Buffer, offset: number, length: number): number {
  if (length <= 127) {
    out[offset] = length;
    return offset + 1;
  }
  out.writeUInt32BE((length | 0x80000000) >>> 0, offset);
  return offset + 4;
}

/**
 * decodePairs: a complete name-value byte stream to pairs, in order. Throws FCGI_ERR_TRUNCATED_PAIR
 * when the bytes end inside a pair. Duplicates are kept; callers decide (for params: last wins).
 */
export function decodePairs(buf: Buffer): NameValuePair[] {
  const pairs: NameValuePair[] = [];
  forEachPair(buf, (name, value) => {
    pairs.push([name, value]);
  });
  return pairs;
}

/** Buffer's own latin-1 decoder (undocumented, in every Node since 0.x): no encoding lookup, no argument juggling. */
export interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/**
 * WHOLE_TEXT_LIMIT: up to this many bytes, forEachPair decodes the whole block as one latin-1 string
 * and cuts every name and value out of it. Above it, each name and value is decoded on its own, so
 * that a huge stream never needs one string near V8's length limit, and a kept value never pins a
 * huge parent string (V8 substrings of 13+ characters are views of their parent).
 */
const WHOLE_TEXT_LIMIT = 1 << 20;

/**
 * forEachPair: decodePairs without building the list: each pair goes to `fn` as it is read (the
 * responder fills its params map directly; one array per pair per request was garbage).
 *
 * Speed (bench codec decode-64k and decode-request, about 30 pairs per request): one call into C++
 * (latin1Slice of the whole block) and then String#slice for each name and value, which V8 does
 * without leaving JS, instead of two Buffer#toString calls per pair (about 60 per request, which were
 * a third of the decode time in a --cpu-prof profile). Lengths are read by index.
 */
export function forEachPair(buf: Buffer, fn: (name: string, value: string) => void): void {
  const end = buf.length;
  if (end === 0) return;
  const text = end <= WHOLE_TEXT_LIMIT ? (buf as Buffer & Latin1Sliceable).latin1Slice(0, end) : null;
  let offset = 0;
  while (offset < end) {
    const nameLength = pairLength(buf, offset, end, 'name length');
    offset += buf[offset]! > 127 ? 4 : 1;
    const valueLength = pairLength(buf, offset, end, 'value length');
    offset += buf[offset]! > 127 ? 4 : 1;
    const nameEnd = offset + nameLength;
    const valueEnd = nameEnd + valueLength;
    if (valueEnd > end) throw pairTruncated(offset, 'name or value bytes');
    if (text !== null) {
      fn(text.slice(offset, nameEnd), text.slice(nameEnd, valueEnd));
    } else {
      fn((buf as Buffer & Latin1Sliceable).latin1Slice(offset, nameEnd),
        (buf as Buffer & Latin1Sliceable).latin1Slice(nameEnd, valueEnd));
    }
    offset = valueEnd;
  }
}

/** pairTruncated: FCGI_ERR_TRUNCATED_PAIR for bytes that end inside a pair. */
export function pairTruncated(offset: number, what: string): ProtocolError {
  return new ProtocolError('FCGI_ERR_TRUNCATED_PAIR', `name-value pair truncated in ${what} at byte ${offset}`);
}

/**
 * pairLength: the name or value length at `offset` (one byte, or four with the high bit set: spec
 * 3.4); throws pairTruncated when its bytes run past `end`. The caller steps 4 bytes when
 * buf[offset] > 127, else 1 (small enough for V8 to inline into the decode loops).
 */
export function pairLength(buf: Buffer, offset: number, end: number, what: string): number {
  if (offset >= end) throw pairTruncated(offset, what);
  const b = buf[offset]!;
  if (b <= 127) return b;
  if (offset + 4 > end) throw pairTruncated(offset, what);
  return ((b & 0x7f) << 24 | buf[offset + 1]! << 16 | buf[offset + 2]! << 8 | buf[offset + 3]!) >>> 0;
}

/**
 * ParamsStream: collects the bytes of one request's PARAMS (or GET_VALUES) stream. The stream is one
 * byte sequence: a pair may straddle records (spec 3.4), so it is decoded whole when the empty
 * record ends it. The byte limit protects memory before anything is decoded.
 */
export class ParamsStream {
  // Speed (bench codec decode-*): the usual stream is one record, so the first chunk is kept on its own
  // and the list is only made for a second one (one array less per request).
  #first: Buffer | null = null;
  #more: Buffer[] | null = null;
  #length = 0;
  #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** byteLength: bytes collected so far. */
  get byteLength(): number {
    return this.#length;
  }

  /** append: add one record's content; throws FCGI_ERR_PARAMS_TOO_LARGE past the limit. */
  append(content: Buffer): void {
    if (this.#length + content.length > this.#maxBytes) {
      throw new ProtocolError('FCGI_ERR_PARAMS_TOO_LARGE',
        `params stream exceeds ${this.#maxBytes} bytes`);
    }
    // A view is safe to keep: RecordDecoder never reuses a content buffer it has handed out, and a
    // connection reading into its own buffer (fastcgi/own-buffer-reader.ts) does not reuse one
    // while a PARAMS stream is incomplete.
    if (this.#first === null) this.#first = content;
    else (this.#more ??= [this.#first]).push(content);
    this.#length += content.length;
  }

  /** decode: the collected pairs. */
  decode(): NameValuePair[] {
    return decodePairs(this.#bytes());
  }

  /** forEach: each collected pair, in order, without building a list. */
  forEach(fn: (name: string, value: string) => void): void {
    forEachPair(this.#bytes(), fn);
  }

  /** bytes: the collected stream as one buffer (a view of the one record when there was one). */
  bytes(): Buffer {
    return this.#bytes();
  }

  /** release: let go of the collected bytes (they may be views of a read buffer that is reused). */
  release(): void {
    this.#first = null;
    this.#more = null;
    this.#length = 0;
  }

  #bytes(): Buffer {
    if (this.#more !== null) return Buffer.concat(this.#more, this.#length);
    return this.#first ?? EMPTY;
  }
}
