import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BeginRequestBody, EndRequestBody, FastCGIRecord, NameValuePair, RecordDecoder, RecordType, ProtocolStatus, Role,
  FCGI_KEEP_CONN, decodeBeginRequestBody, decodeEndRequestBody, decodePairs, decodeUnknownTypeBody,
  encodeBeginRequest, encodeEndRequest, encodeGetValues, encodeGetValuesResult, encodePairs, encodeRecord,
  encodeUnknownType,
} from '../../src/protocol';

/**
 * bytes: literal bytes written as hex pairs and "quoted ASCII"; a `*N` suffix repeats a token N times.
 * Whitespace and `|` (used to separate header, content and padding) are ignored.
 */
function bytes(spec: string): Buffer {
  const out: number[] = [];
  for (const m of spec.matchAll(/"([^"]*)"(?:\*(\d+))?|([0-9a-fA-F]{2})(?:\*(\d+))?|(\||\s+)|(\S+)/g)) {
    if (m[6] !== undefined) throw new Error(`bad byte token ${m[6]}`);
    if (m[5] !== undefined) continue;
    const unit = m[1] !== undefined ? [...Buffer.from(m[1], 'latin1')] : [parseInt(m[3]!, 16)];
    const times = Number(m[2] ?? m[4] ?? 1);
    for (let i = 0; i < times; i++) out.push(...unit);
  }
  return Buffer.from(out);
}

/** Body: what a record's content means, read with the body decoders of src/protocol. */
type Body = BeginRequestBody | EndRequestBody | NameValuePair[] | { unknownType: number } | string;

interface ExpectedRecord {
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
  body: Body;
}

interface Fixture {
  name: string;
  wire: string;
  records: ExpectedRecord[];
}

function bodyOf(record: FastCGIRecord): Body {
  switch (record.type) {
    case RecordType.BeginRequest: return decodeBeginRequestBody(record.content);
    case RecordType.EndRequest: return decodeEndRequestBody(record.content);
    case RecordType.UnknownType: return { unknownType: decodeUnknownTypeBody(record.content) };
    case RecordType.Params:
    case RecordType.GetValues:
    case RecordType.GetValuesResult: return decodePairs(record.content);
    default: return record.content.toString('latin1');
  }
}

/** reencode: the record built again by the encoders from what was decoded (the other direction). */
function reencode(record: FastCGIRecord): Buffer {
  switch (record.type) {
    case RecordType.BeginRequest: {
      const { role, flags } = decodeBeginRequestBody(record.content);
      return encodeBeginRequest(record.requestId, role, flags);
    }
    case RecordType.EndRequest: {
      const { appStatus, protocolStatus } = decodeEndRequestBody(record.content);
      return encodeEndRequest(record.requestId, appStatus, protocolStatus);
    }
    case RecordType.UnknownType: return encodeUnknownType(decodeUnknownTypeBody(record.content));
    case RecordType.GetValues: return encodeGetValues(decodePairs(record.content).map(([name]) => name));
    case RecordType.GetValuesResult: return encodeGetValuesResult(decodePairs(record.content));
    case RecordType.Params:
      return encodeRecord(record.type, record.requestId, encodePairs(decodePairs(record.content)), record.paddingLength);
    default:
      return encodeRecord(record.type, record.requestId, Buffer.from(record.content), record.paddingLength);
  }
}

const begin = (requestId: number, role: number, flags: number): ExpectedRecord =>
  ({ type: RecordType.BeginRequest, requestId, contentLength: 8, paddingLength: 0, body: { role, flags } });
const end = (appStatus: number, protocolStatus: number): ExpectedRecord =>
  ({ type: RecordType.EndRequest, requestId: 1, contentLength: 8, paddingLength: 0, body: { appStatus, protocolStatus } });

const fixtures: Fixture[] = [
  { name: 'BEGIN_REQUEST RESPONDER', wire: '01 01 00 01 00 08 00 00 | 00 01 00 00 00 00 00 00',
    records: [begin(1, Role.Responder, 0)] },
  { name: 'BEGIN_REQUEST RESPONDER KEEP_CONN', wire: '01 01 00 01 00 08 00 00 | 00 01 01 00 00 00 00 00',
    records: [begin(1, Role.Responder, FCGI_KEEP_CONN)] },
  { name: 'BEGIN_REQUEST AUTHORIZER', wire: '01 01 00 02 00 08 00 00 | 00 02 00 00 00 00 00 00',
    records: [begin(2, Role.Authorizer, 0)] },
  { name: 'BEGIN_REQUEST FILTER KEEP_CONN, two-byte request id', wire: '01 01 12 34 00 08 00 00 | 00 03 01 00 00 00 00 00',
    records: [begin(0x1234, Role.Filter, FCGI_KEEP_CONN)] },
  { name: 'BEGIN_REQUEST unknown role 0x0102, request id 65535', wire: '01 01 ff ff 00 08 00 00 | 01 02 00 00 00 00 00 00',
    records: [begin(0xffff, 0x0102, 0)] },
  { name: 'ABORT_REQUEST', wire: '01 02 00 01 00 00 00 00',
    records: [{ type: RecordType.AbortRequest, requestId: 1, contentLength: 0, paddingLength: 0, body: '' }] },
  { name: 'END_REQUEST REQUEST_COMPLETE', wire: '01 03 00 01 00 08 00 00 | 00 00 00 00 00 00 00 00',
    records: [end(0, ProtocolStatus.RequestComplete)] },
  { name: 'END_REQUEST CANT_MPX_CONN', wire: '01 03 00 01 00 08 00 00 | 00 00 00 00 01 00 00 00',
    records: [end(0, ProtocolStatus.CantMpxConn)] },
  { name: 'END_REQUEST OVERLOADED, appStatus big-endian', wire: '01 03 00 01 00 08 00 00 | 01 02 03 04 02 00 00 00',
    records: [end(0x01020304, ProtocolStatus.Overloaded)] },
  { name: 'END_REQUEST UNKNOWN_ROLE, appStatus 2^32-1 unsigned', wire: '01 03 00 01 00 08 00 00 | ff ff ff ff 03 00 00 00',
    records: [end(0xffffffff, ProtocolStatus.UnknownRole)] },
  { name: 'PARAMS, one-byte lengths, padding 4',
    wire: '01 04 00 01 00 24 04 00 | 0e 03 "REQUEST_METHOD" "GET" 0c 03 "QUERY_STRING" "x=1" | 00*4',
    records: [{ type: RecordType.Params, requestId: 1, contentLength: 36, paddingLength: 4,
      body: [['REQUEST_METHOD', 'GET'], ['QUERY_STRING', 'x=1']] }] },
  { name: 'PARAMS, four-byte lengths for a 128-byte value and a 200-byte name, 127 stays one byte',
    wire: '01 04 00 01 01 d5 03 00 | 01 80 00 00 80 "A" "v"*128 | 80 00 00 c8 00 "n"*200 | 01 7f "B" "w"*127 | 00*3',
    records: [{ type: RecordType.Params, requestId: 1, contentLength: 469, paddingLength: 3,
      body: [['A', 'v'.repeat(128)], ['n'.repeat(200), ''], ['B', 'w'.repeat(127)]] }] },
  { name: 'PARAMS, empty record ending the stream', wire: '01 04 00 01 00 00 00 00',
    records: [{ type: RecordType.Params, requestId: 1, contentLength: 0, paddingLength: 0, body: [] }] },
  { name: 'STDIN, padding present', wire: '01 05 00 01 00 05 03 00 | "hello" | 00 00 00',
    records: [{ type: RecordType.Stdin, requestId: 1, contentLength: 5, paddingLength: 3, body: 'hello' }] },
  { name: 'STDIN, empty record ending the stream', wire: '01 05 00 01 00 00 00 00',
    records: [{ type: RecordType.Stdin, requestId: 1, contentLength: 0, paddingLength: 0, body: '' }] },
  { name: 'STDOUT, padding absent on unaligned content', wire: '01 06 00 01 00 0d 00 00 | "Status: 200" 0d 0a',
    records: [{ type: RecordType.Stdout, requestId: 1, contentLength: 13, paddingLength: 0, body: 'Status: 200\r\n' }] },
  { name: 'STDOUT, aligned content needs no padding', wire: '01 06 00 01 00 08 00 00 | "12345678"',
    records: [{ type: RecordType.Stdout, requestId: 1, contentLength: 8, paddingLength: 0, body: '12345678' }] },
  { name: 'STDOUT, binary bytes, padding longer than needed', wire: '01 06 00 01 00 03 0d 00 | ff 00 80 | 00*13',
    records: [{ type: RecordType.Stdout, requestId: 1, contentLength: 3, paddingLength: 13, body: '\xff\x00\x80' }] },
  { name: 'STDERR', wire: '01 07 00 01 00 04 04 00 | "oops" | 00*4',
    records: [{ type: RecordType.Stderr, requestId: 1, contentLength: 4, paddingLength: 4, body: 'oops' }] },
  { name: 'DATA (FILTER role)', wire: '01 08 00 01 00 03 05 00 | "abc" | 00*5',
    records: [{ type: RecordType.Data, requestId: 1, contentLength: 3, paddingLength: 5, body: 'abc' }] },
  { name: 'GET_VALUES for the three spec variables',
    wire: '01 09 00 00 00 30 00 00 | 0e 00 "FCGI_MAX_CONNS" 0d 00 "FCGI_MAX_REQS" 0f 00 "FCGI_MPXS_CONNS"',
    records: [{ type: RecordType.GetValues, requestId: 0, contentLength: 48, paddingLength: 0,
      body: [['FCGI_MAX_CONNS', ''], ['FCGI_MAX_REQS', ''], ['FCGI_MPXS_CONNS', '']] }] },
  { name: 'GET_VALUES_RESULT',
    wire: '01 0a 00 00 00 35 03 00 | 0e 02 "FCGI_MAX_CONNS" "10" 0d 02 "FCGI_MAX_REQS" "50" 0f 01 "FCGI_MPXS_CONNS" "0" | 00*3',
    records: [{ type: RecordType.GetValuesResult, requestId: 0, contentLength: 53, paddingLength: 3,
      body: [['FCGI_MAX_CONNS', '10'], ['FCGI_MAX_REQS', '50'], ['FCGI_MPXS_CONNS', '0']] }] },
  { name: 'UNKNOWN_TYPE naming type 20', wire: '01 0b 00 00 00 08 00 00 | 14 00*7',
    records: [{ type: RecordType.UnknownType, requestId: 0, contentLength: 8, paddingLength: 0, body: { unknownType: 20 } }] },
  { name: 'a record of a type FastCGI 1.0 does not define', wire: '01 63 00 01 00 02 06 00 | "xy" | 00*6',
    records: [{ type: 0x63, requestId: 1, contentLength: 2, paddingLength: 6, body: 'xy' }] },
  { name: 'a whole request: BEGIN, PARAMS, empty PARAMS, STDIN, empty STDIN',
    wire: '01 01 00 07 00 08 00 00 | 00 01 01 00 00 00 00 00 |' +
      '01 04 00 07 00 0e 02 00 | 0b 01 "REQUEST_URI" "/" | 00 00 |' +
      '01 04 00 07 00 00 00 00 |' +
      '01 05 00 07 00 02 06 00 | "a=" | 00*6 |' +
      '01 05 00 07 00 00 00 00',
    records: [
      begin(7, Role.Responder, FCGI_KEEP_CONN),
      { type: RecordType.Params, requestId: 7, contentLength: 14, paddingLength: 2, body: [['REQUEST_URI', '/']] },
      { type: RecordType.Params, requestId: 7, contentLength: 0, paddingLength: 0, body: [] },
      { type: RecordType.Stdin, requestId: 7, contentLength: 2, paddingLength: 6, body: 'a=' },
      { type: RecordType.Stdin, requestId: 7, contentLength: 0, paddingLength: 0, body: '' },
    ] },
];

/** decodeChunks: push the chunks into one decoder, end it, and return copies of every record. */
function decodeChunks(chunks: Buffer[]): FastCGIRecord[] {
  const records: FastCGIRecord[] = [];
  const decoder = new RecordDecoder((r) => records.push({ ...r, content: Buffer.from(r.content) }));
  for (const chunk of chunks) decoder.push(chunk);
  assert.equal(decoder.isAtRecordBoundary, true);
  assert.equal(decoder.bufferedBytes, 0);
  decoder.end();
  return records;
}

function headerOf(r: FastCGIRecord): [number, number, number, number, number] {
  return [r.version, r.type, r.requestId, r.contentLength, r.paddingLength];
}

describe('record codec fixtures', () => {
  for (const fixture of fixtures) {
    const wire = bytes(fixture.wire);

    it(`decodes ${fixture.name}`, () => {
      const records = decodeChunks([wire]);
      assert.deepEqual(records.map(headerOf),
        fixture.records.map((e) => [1, e.type, e.requestId, e.contentLength, e.paddingLength]));
      assert.deepEqual(records.map(bodyOf), fixture.records.map((e) => e.body));
    });

    it(`re-encodes ${fixture.name} to the same bytes`, () => {
      const again = Buffer.concat(decodeChunks([wire]).map(reencode));
      assert.equal(again.toString('hex'), wire.toString('hex'));
    });

    it(`decodes ${fixture.name} split at every byte boundary`, () => {
      const whole = decodeChunks([wire]);
      for (let i = 1; i < wire.length; i++) {
        assert.deepEqual(decodeChunks([wire.subarray(0, i), wire.subarray(i)]), whole, `split at byte ${i}`);
      }
    });

    it(`decodes ${fixture.name} fed byte by byte`, () => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < wire.length; i++) chunks.push(wire.subarray(i, i + 1));
      assert.deepEqual(decodeChunks(chunks), decodeChunks([wire]));
    });
  }

  it('decodes all fixtures back to back, split at every byte boundary', () => {
    const all = Buffer.concat(fixtures.map((f) => bytes(f.wire)));
    const expected = fixtures.flatMap((f) => f.records.map((e) => [1, e.type, e.requestId, e.contentLength, e.paddingLength]));
    const whole = decodeChunks([all]);
    assert.deepEqual(whole.map(headerOf), expected);
    for (let i = 1; i < all.length; i++) {
      assert.deepEqual(decodeChunks([all.subarray(0, i), all.subarray(i)]), whole, `split at byte ${i}`);
    }
  });

  it('decodes a record whose three parts arrive in three chunks, with empty pushes between', () => {
    const wire = bytes('01 06 00 01 00 05 03 00 | "hello" | 00 00 00');
    const records = decodeChunks([wire.subarray(0, 8), Buffer.alloc(0), wire.subarray(8, 13), Buffer.alloc(0),
      wire.subarray(13)]);
    assert.deepEqual(records.map(bodyOf), ['hello']);
  });

  it('emits a record as soon as its content is complete, before its padding arrives', () => {
    const wire = bytes('01 05 00 01 00 02 06 00 | "ok" | 00*6');
    const seen: string[] = [];
    const decoder = new RecordDecoder((r) => seen.push(r.content.toString('latin1')));
    decoder.push(wire.subarray(0, 10));
    assert.deepEqual(seen, ['ok']);
    assert.equal(decoder.isAtRecordBoundary, false);
    decoder.push(wire.subarray(10));
    assert.equal(decoder.isAtRecordBoundary, true);
  });

  it('the bytes() helper reads what the fixtures mean', () => {
    assert.deepEqual([...bytes('01 ff | "AB" 00*3 "c"*2')], [1, 255, 65, 66, 0, 0, 0, 99, 99]);
    assert.throws(() => bytes('0g'), /bad byte token/);
  });
});

describe('RecordDecoder chunk handling', () => {
  const stdin = (id: number, text: string, padding: number): Buffer =>
    encodeRecord(RecordType.Stdin, id, Buffer.from(text, 'latin1'), padding);

  it('gathers a content that spans three chunks, and padding that spans two', () => {
    const wire = Buffer.concat([stdin(1, 'abcdefghijklmnop', 7), stdin(2, 'z', 0)]);
    const seen: string[] = [];
    const decoder = new RecordDecoder((r) => seen.push(`${r.requestId}:${r.content.toString('latin1')}`));
    decoder.push(wire.subarray(0, 12)); // header + "abcd"
    assert.equal(decoder.bufferedBytes, 4);
    decoder.push(wire.subarray(12, 18)); // "efghij"
    assert.equal(decoder.bufferedBytes, 10);
    decoder.push(wire.subarray(18, 26)); // "klmnop" + 2 bytes of padding
    assert.deepEqual(seen, ['1:abcdefghijklmnop']);
    assert.equal(decoder.bufferedBytes, 2);
    assert.equal(decoder.isAtRecordBoundary, false);
    decoder.push(wire.subarray(26, 33)); // 5 bytes of padding + 2 of the next header
    assert.equal(decoder.bufferedBytes, 2);
    decoder.push(wire.subarray(33));
    assert.deepEqual(seen, ['1:abcdefghijklmnop', '2:z']);
    assert.equal(decoder.isAtRecordBoundary, true);
    decoder.end();
  });

  it('hands out contents that stay valid after the callback and later pushes', () => {
    const records: FastCGIRecord[] = [];
    const decoder = new RecordDecoder((r) => records.push(r));
    const wire = Buffer.concat([stdin(1, 'first', 3), stdin(1, 'second!', 1), stdin(1, 'third', 3)]);
    decoder.push(wire.subarray(0, 11)); // the first content is cut: gathered in a buffer of its own
    decoder.push(wire.subarray(11, 40));
    decoder.push(wire.subarray(40));
    assert.deepEqual(records.map((r) => r.content.toString('latin1')), ['first', 'second!', 'third']);
    assert.notEqual(records[0], records[1], 'one record object per record');
  });

  it('gives the same content view again for the same window of the same chunk (a reader reusing its buffer)', () => {
    const records: FastCGIRecord[] = [];
    const decoder = new RecordDecoder((r) => records.push(r));
    const one = (port: string): Buffer => Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN),
      encodeRecord(RecordType.Params, 1, encodePairs([['REMOTE_PORT', port]])), encodeRecord(RecordType.Stdin, 1)]);
    const slab = Buffer.alloc(256);
    const read = (bytes: Buffer, at = 0): void => {
      bytes.copy(slab, at);
      decoder.push(slab, at + bytes.length);
    };
    read(one('60001'));
    read(one('60002'));
    const [begin1, params1, , begin2, params2] = records;
    assert.ok(begin2!.content === begin1!.content && params2!.content === params1!.content, 'the same views');
    assert.notEqual(begin1!.content, params1!.content, 'one per record type');
    assert.deepEqual(decodePairs(params2!.content), [['REMOTE_PORT', '60002']], 'the bytes now in the window');
    // Another window of the chunk, or another chunk, gets a view of its own.
    read(one('601'));
    assert.notEqual(records[7]!.content, params1!.content);
    assert.deepEqual(decodePairs(records[7]!.content), [['REMOTE_PORT', '601']]);
    decoder.push(one('60003'));
    assert.notEqual(records[10]!.content, params1!.content);
    assert.deepEqual(decodePairs(records[10]!.content), [['REMOTE_PORT', '60003']]);
    assert.equal(decodeBeginRequestBody(records[9]!.content).flags, FCGI_KEEP_CONN);
  });

  it('keeps the bytes after a record whose callback threw, and decodes them on the next push', () => {
    const wire = Buffer.concat([stdin(1, 'a', 7), stdin(2, 'b', 7), stdin(3, 'c', 7)]);
    const seen: number[] = [];
    const decoder = new RecordDecoder((r) => {
      seen.push(r.requestId);
      if (r.requestId === 1) throw new Error('callback failed');
    });
    assert.throws(() => decoder.push(wire), /callback failed/);
    assert.deepEqual(seen, [1]);
    assert.equal(decoder.bufferedBytes, 32);
    assert.equal(decoder.isAtRecordBoundary, false);
    decoder.push(Buffer.alloc(0));
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(decoder.isAtRecordBoundary, true);
  });

  it('decodes a buffer only up to the end it is given, at every split, bytes after it unread', () => {
    // A connection reading into a buffer of its own pushes the buffer and how many bytes it read.
    const wire = Buffer.concat(fixtures.map((f) => bytes(f.wire)));
    const whole = decodeChunks([wire]);
    const junk = Buffer.alloc(40, 0xee); // not a valid header: decoding any of it would throw
    for (let i = 1; i < wire.length; i++) {
      const records: FastCGIRecord[] = [];
      const decoder = new RecordDecoder((r) => records.push({ ...r, content: Buffer.from(r.content) }));
      decoder.push(Buffer.concat([wire.subarray(0, i), junk]), i);
      decoder.push(Buffer.concat([wire.subarray(i), junk]), wire.length - i);
      decoder.end();
      assert.deepEqual(records, whole, `split at byte ${i}`);
    }
  });

  it('keeps the bytes up to the end given after a callback threw, and nothing after it', () => {
    const wire = Buffer.concat([stdin(1, 'a', 7), stdin(2, 'b', 7), Buffer.alloc(16, 0xee)]);
    const seen: number[] = [];
    const decoder = new RecordDecoder((r) => {
      seen.push(r.requestId);
      if (r.requestId === 1) throw new Error('callback failed');
    });
    assert.throws(() => decoder.push(wire, 32), /callback failed/);
    assert.equal(decoder.bufferedBytes, 16);
    decoder.push(Buffer.alloc(0));
    assert.deepEqual(seen, [1, 2]);
    assert.equal(decoder.isAtRecordBoundary, true);
  });

  it('keeps the byte order when a callback pushes more bytes into the same decoder', () => {
    const wire = Buffer.concat([stdin(1, 'a', 7), stdin(2, 'b', 7)]);
    const seen: number[] = [];
    let pushed = false;
    const decoder = new RecordDecoder((r) => {
      seen.push(r.requestId);
      if (!pushed) {
        pushed = true;
        decoder.push(stdin(3, 'c', 7));
      }
    });
    decoder.push(wire);
    assert.deepEqual(seen, [1, 2, 3]);
    decoder.end();
  });

  it('decodes records of every content length 0-300 and padding 0-9 split at every byte', () => {
    const wire = Buffer.concat(Array.from({ length: 301 }, (_, n) =>
      encodeRecord(RecordType.Stdout, n + 1, Buffer.alloc(n, n & 0xff), n % 10)));
    const whole = decodeChunks([wire]);
    assert.equal(whole.length, 301);
    whole.forEach((r, n) => {
      assert.equal(r.contentLength, n);
      assert.equal(r.content.equals(Buffer.alloc(n, n & 0xff)), true);
    });
    for (const size of [1, 3, 7, 8, 9, 100, 4093]) {
      const chunks: Buffer[] = [];
      for (let o = 0; o < wire.length; o += size) chunks.push(wire.subarray(o, o + size));
      assert.deepEqual(decodeChunks(chunks), whole, `chunks of ${size}`);
    }
  });
});

describe('RecordDecoder streamPieces', () => {
  /** a stream as a web server sends one request: BEGIN, PARAMS, a 40,000-byte STDIN record, empty STDIN, then DATA. */
  function stream(): { bytes: Buffer; stdin: Buffer; data: Buffer; params: Buffer } {
    const stdin = Buffer.from(Array.from({ length: 40000 }, (_, i) => (i * 7) & 0xff));
    const data = Buffer.from('data that a filter reads'.repeat(50));
    const params = encodePairs([['REQUEST_METHOD', 'POST'], ['X'.repeat(300), 'y'.repeat(700)]]);
    const bytes = Buffer.concat([
      encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN),
      encodeRecord(RecordType.Params, 1, params), encodeRecord(RecordType.Params, 1),
      encodeRecord(RecordType.Stdin, 1, stdin), encodeRecord(RecordType.Stdin, 1),
      encodeRecord(RecordType.Data, 1, data), encodeRecord(RecordType.Data, 1),
    ]);
    return { bytes, stdin, data, params };
  }

  function decodeSplit(bytes: Buffer, sizes: number[]): FastCGIRecord[] {
    const out: FastCGIRecord[] = [];
    const d = new RecordDecoder((r) => out.push(r), { streamPieces: true });
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = sizes[i % sizes.length]!;
      d.push(bytes.subarray(at, at + n));
      at += n;
    }
    d.end();
    return out;
  }

  it('emits stream contents cut by chunk ends as non-empty views, whole records otherwise, for any split', () => {
    const { bytes, stdin, data, params } = stream();
    for (const sizes of [[bytes.length], [1], [7], [8, 9], [4096], [65536], [100, 30000, 3], [12345]]) {
      const records = decodeSplit(bytes, sizes);
      const stdinPieces = records.filter((r) => r.type === RecordType.Stdin && r.contentLength > 0);
      const dataPieces = records.filter((r) => r.type === RecordType.Data && r.contentLength > 0);
      assert.deepEqual(Buffer.concat(stdinPieces.map((r) => r.content)), stdin, `sizes ${sizes}`);
      assert.deepEqual(Buffer.concat(dataPieces.map((r) => r.content)), data, `sizes ${sizes}`);
      for (const pieces of [stdinPieces, dataPieces]) {
        assert.ok(pieces.every((r) => r.content.length > 0), 'no empty piece (an empty record ends the stream)');
        assert.ok(pieces.slice(0, -1).every((r) => r.partial === true) && pieces.at(-1)!.partial === undefined);
      }
      // PARAMS is not a byte stream of the app's: gathered whole as before.
      const p = records.filter((r) => r.type === RecordType.Params && r.contentLength > 0);
      assert.equal(p.length, 1);
      assert.deepEqual(p[0]!.content, params);
      // The empty records that end the streams are there, once each, after their contents.
      assert.deepEqual(records.filter((r) => r.contentLength === 0).map((r) => r.type),
        [RecordType.Params, RecordType.Stdin, RecordType.Data]);
    }
  });

  it('copies nothing: every piece is a view into a pushed chunk', () => {
    const { bytes } = stream();
    const chunks = [bytes.subarray(0, 20000), bytes.subarray(20000, 40000), bytes.subarray(40000)];
    const records: FastCGIRecord[] = [];
    const d = new RecordDecoder((r) => records.push(r), { streamPieces: true });
    for (const c of chunks) d.push(c);
    for (const r of records.filter((x) => x.type === RecordType.Stdin && x.contentLength > 0)) {
      assert.ok(chunks.some((c) => c.buffer === r.content.buffer), 'a piece shares memory with a pushed chunk');
    }
    assert.equal(d.bufferedBytes, 0);
    assert.ok(d.isAtRecordBoundary);
  });
});
