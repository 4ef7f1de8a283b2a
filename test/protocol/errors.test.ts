import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FastCGIRecord, ParamsStream, ProtocolError, ProtocolErrorCode, RecordDecoder, RecordType, decodeBeginRequestBody,
  decodeEndRequestBody, decodePairs, decodeUnknownTypeBody, encodePairs, encodeRecord, isProtocolError,
} from '../../src/protocol';

/** throwsCode: `fn` throws a ProtocolError carrying `code`. */
function throwsCode(fn: () => unknown, code: ProtocolErrorCode, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isProtocolError(err), `expected a ProtocolError, got ${String(err)}`);
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, code, message);
    return true;
  }, message);
}

const STDIN_OK = Buffer.from('0105000100020600' + '6f6b' + '000000000000', 'hex');

describe('protocol error codes', () => {
  it('emits FCGI_ERR_BAD_VERSION when a header carries version 0, 2 or 255', () => {
    for (const version of ['00', '02', 'ff']) {
      const decoder = new RecordDecoder(() => assert.fail('no record'));
      throwsCode(() => decoder.push(Buffer.from(`${version}05000100000000`, 'hex')), 'FCGI_ERR_BAD_VERSION', version);
    }
  });

  it('emits FCGI_ERR_BAD_VERSION when the bad header arrives byte by byte after a good record', () => {
    const seen: number[] = [];
    const decoder = new RecordDecoder((r) => seen.push(r.type));
    decoder.push(STDIN_OK);
    const bad = Buffer.from('0201000100080000', 'hex');
    for (let i = 0; i < 7; i++) decoder.push(bad.subarray(i, i + 1));
    throwsCode(() => decoder.push(bad.subarray(7)), 'FCGI_ERR_BAD_VERSION');
    assert.deepEqual(seen, [RecordType.Stdin]);
  });

  it('emits FCGI_ERR_BAD_VERSION on every push after the first, refusing good records', () => {
    const seen: FastCGIRecord[] = [];
    const decoder = new RecordDecoder((r) => seen.push(r));
    throwsCode(() => decoder.push(Buffer.from('0005000100000000', 'hex')), 'FCGI_ERR_BAD_VERSION');
    throwsCode(() => decoder.push(STDIN_OK), 'FCGI_ERR_BAD_VERSION');
    throwsCode(() => decoder.push(Buffer.alloc(0)), 'FCGI_ERR_BAD_VERSION');
    assert.equal(seen.length, 0);
  });

  it('accepts any version with allowAnyVersion (inspection tools), and reports it', () => {
    const seen: number[] = [];
    const decoder = new RecordDecoder((r) => seen.push(r.version), { allowAnyVersion: true });
    decoder.push(Buffer.from('0205000100000000', 'hex'));
    assert.deepEqual(seen, [2]);
  });

  it('emits FCGI_ERR_BAD_BODY_LENGTH when a BEGIN_REQUEST body is not 8 bytes', () => {
    throwsCode(() => decodeBeginRequestBody(Buffer.alloc(7)), 'FCGI_ERR_BAD_BODY_LENGTH', '7 bytes');
    throwsCode(() => decodeBeginRequestBody(Buffer.alloc(0)), 'FCGI_ERR_BAD_BODY_LENGTH', '0 bytes');
    throwsCode(() => decodeBeginRequestBody(Buffer.alloc(16)), 'FCGI_ERR_BAD_BODY_LENGTH', '16 bytes');
  });

  it('emits FCGI_ERR_BAD_BODY_LENGTH when an END_REQUEST body is not 8 bytes', () => {
    throwsCode(() => decodeEndRequestBody(Buffer.alloc(5)), 'FCGI_ERR_BAD_BODY_LENGTH');
    throwsCode(() => decodeEndRequestBody(Buffer.alloc(9)), 'FCGI_ERR_BAD_BODY_LENGTH');
  });

  it('emits FCGI_ERR_BAD_BODY_LENGTH when an UNKNOWN_TYPE body is not 8 bytes', () => {
    throwsCode(() => decodeUnknownTypeBody(Buffer.from([20])), 'FCGI_ERR_BAD_BODY_LENGTH');
  });

  const truncations: Array<[where: string, hex: string]> = [
    ['inside a four-byte name length', '8000'],
    ['inside a four-byte name length, one byte short', '800000'],
    ['before the value length', '01'],
    ['after a four-byte name length, before the value length', '80000080'],
    ['inside a four-byte value length', '0180'],
    ['inside a four-byte value length, one byte short', '01800000'],
    ['inside the name bytes', '0300' + '6162'],
    ['inside the value bytes', '0103' + '61' + '6263'],
    ['inside the bytes of a four-byte-length value', '0180000080' + '61' + '62'.repeat(127)],
    ['inside a second pair, after a complete first one', '0101' + '6162' + '02'],
  ];
  for (const [where, hex] of truncations) {
    it(`emits FCGI_ERR_TRUNCATED_PAIR when the bytes end ${where}`, () => {
      throwsCode(() => decodePairs(Buffer.from(hex, 'hex')), 'FCGI_ERR_TRUNCATED_PAIR');
    });
  }

  it('emits FCGI_ERR_TRUNCATED_PAIR when any pair stream is cut anywhere but a pair boundary', () => {
    const pairs: Array<[string, string]> = [['A', 'b'], ['n'.repeat(130), 'v'], ['C', 'w'.repeat(200)], ['', '']];
    const encoded = encodePairs(pairs);
    const boundaries = new Map<number, number>([[0, 0]]);
    let offset = 0;
    pairs.forEach((pair, i) => {
      offset += encodePairs([pair]).length;
      boundaries.set(offset, i + 1);
    });
    for (let cut = 0; cut <= encoded.length; cut++) {
      const prefix = encoded.subarray(0, cut);
      const complete = boundaries.get(cut);
      if (complete !== undefined) assert.deepEqual(decodePairs(prefix), pairs.slice(0, complete), `cut at ${cut}`);
      else throwsCode(() => decodePairs(prefix), 'FCGI_ERR_TRUNCATED_PAIR', `cut at ${cut}`);
    }
  });

  it('emits FCGI_ERR_TRUNCATED_PAIR when a PARAMS stream ends inside a pair', () => {
    const stream = new ParamsStream(1000);
    stream.append(Buffer.from('0405' + '4e414d45' + '5641', 'hex'));
    throwsCode(() => stream.decode(), 'FCGI_ERR_TRUNCATED_PAIR');
  });

  it('emits FCGI_ERR_PARAMS_TOO_LARGE when one append passes the limit', () => {
    const stream = new ParamsStream(16);
    throwsCode(() => stream.append(Buffer.alloc(17)), 'FCGI_ERR_PARAMS_TOO_LARGE');
    assert.equal(stream.byteLength, 0);
  });

  it('emits FCGI_ERR_PARAMS_TOO_LARGE when the sum of appends passes the limit, not at it', () => {
    const stream = new ParamsStream(16);
    stream.append(Buffer.alloc(10));
    stream.append(Buffer.alloc(6));
    assert.equal(stream.byteLength, 16);
    throwsCode(() => stream.append(Buffer.alloc(1)), 'FCGI_ERR_PARAMS_TOO_LARGE');
    assert.equal(stream.byteLength, 16);
  });

  it('emits FCGI_ERR_CONTENT_TOO_LONG when one record is asked to carry 65536 bytes', () => {
    throwsCode(() => encodeRecord(RecordType.Stdout, 1, Buffer.alloc(65536)), 'FCGI_ERR_CONTENT_TOO_LONG');
    assert.equal(encodeRecord(RecordType.Stdout, 1, Buffer.alloc(65535)).readUInt16BE(4), 65535);
  });

  // A name or value over 2^31-1 characters cannot be built: V8's longest string is 2^29-24 characters
  // (Node 20, 64-bit), so encodePairs' guard is unreachable with real strings.
  it('emits FCGI_ERR_NAME_TOO_LONG when a name exceeds 2^31-1 bytes',
    { skip: 'impractical: V8 strings are limited to 2^29-24 characters' }, () => {
      throwsCode(() => encodePairs([['x'.repeat(2 ** 31), '']]), 'FCGI_ERR_NAME_TOO_LONG');
    });

  const cuts: Array<[where: string, hex: string]> = [
    ['inside a header', '010500'],
    ['after a header, before the content', '0105000100020600'],
    ['inside the content', '0105000100020600' + '6f'],
    ['inside the padding', '0105000100020600' + '6f6b' + '0000'],
    ['after a complete record, inside the next header', STDIN_OK.toString('hex') + '01'],
    ['after the header of a record with no content, before its padding', '0105000100000800'],
  ];
  for (const [where, hex] of cuts) {
    it(`emits FCGI_ERR_TRUNCATED_RECORD when the stream ends ${where}`, () => {
      const decoder = new RecordDecoder(() => undefined);
      decoder.push(Buffer.from(hex, 'hex'));
      assert.equal(decoder.isAtRecordBoundary, false);
      throwsCode(() => decoder.end(), 'FCGI_ERR_TRUNCATED_RECORD');
    });
  }

  it('end() at a record boundary is not an error', () => {
    const decoder = new RecordDecoder(() => undefined);
    decoder.end();
    decoder.push(STDIN_OK);
    decoder.end();
    assert.equal(decoder.bufferedBytes, 0);
  });
});
