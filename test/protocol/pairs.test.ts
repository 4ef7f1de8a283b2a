import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FastCGIRecord, NameValuePair, ParamsStream, RecordDecoder, RecordType, FCGI_MAX_ALIGNED_CONTENT,
  decodePairs, encodePairs, encodeParams, encodeRecord, encodeStream,
} from '../../src/protocol';

function decodeAll(wire: Buffer): FastCGIRecord[] {
  const records: FastCGIRecord[] = [];
  const decoder = new RecordDecoder((r) => records.push(r));
  decoder.push(wire);
  decoder.end();
  return records;
}

/** paramsOf: the PARAMS records of `wire` through ParamsStream, as a connection collects them. */
function paramsOf(wire: Buffer, maxBytes = 1 << 20): NameValuePair[] {
  const stream = new ParamsStream(maxBytes);
  let ended = false;
  for (const r of decodeAll(wire)) {
    assert.equal(r.type, RecordType.Params);
    assert.equal(ended, false, 'no PARAMS record after the empty one');
    if (r.contentLength === 0) ended = true;
    else stream.append(r.content);
  }
  assert.equal(ended, true, 'the stream ends with an empty PARAMS record');
  return stream.decode();
}

describe('name-value pairs', () => {
  it('round-trips all 256 byte values in a value as latin-1', () => {
    let all = '';
    for (let b = 0; b < 256; b++) all += String.fromCharCode(b);
    const encoded = encodePairs([['ALL', all]]);
    // name length 3, value length 256 as four bytes with the high bit set, then the bytes themselves.
    assert.equal(encoded.subarray(0, 5).toString('hex'), '0380000100');
    assert.equal(encoded.subarray(5, 8).toString('latin1'), 'ALL');
    assert.deepEqual([...encoded.subarray(8)], Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(decodePairs(encoded), [['ALL', all]]);
  });

  it('round-trips UTF-8 bytes of a path as latin-1 characters, byte for byte', () => {
    const utf8AsLatin1 = Buffer.from('/café/日本', 'utf8').toString('latin1');
    const encoded = encodePairs([['PATH_INFO', utf8AsLatin1]]);
    assert.equal(encoded.subarray(11).toString('utf8'), '/café/日本');
    assert.deepEqual(decodePairs(encoded), [['PATH_INFO', utf8AsLatin1]]);
  });

  it('uses a one-byte length up to 127 and a four-byte length from 128', () => {
    for (const [length, hex] of [[0, '00'], [127, '7f'], [128, '80000080'], [0x10000, '80010000']] as const) {
      const encoded = encodePairs([['x'.repeat(length), '']]);
      assert.equal(encoded.subarray(0, hex.length / 2).toString('hex'), hex, `name length ${length}`);
      assert.equal(encoded.length, hex.length / 2 + 1 + length);
      assert.deepEqual(decodePairs(encoded), [['x'.repeat(length), '']]);
    }
  });

  it('keeps duplicate names, in order (callers decide which wins)', () => {
    const pairs: NameValuePair[] = [['SCRIPT_NAME', '/foo/bar'], ['PATH_INFO', '/x'], ['SCRIPT_NAME', '']];
    assert.deepEqual(decodePairs(encodePairs(pairs)), pairs);
  });

  it('decodes nothing from an empty stream', () => {
    assert.deepEqual(decodePairs(Buffer.alloc(0)), []);
    assert.equal(encodePairs([]).length, 0);
  });
});

describe('PARAMS streams across records', () => {
  it('decodes a pair whose name straddles two PARAMS records (literal bytes)', () => {
    const wire = Buffer.from(
      '0104000100050300' + '04054e414d' + '000000' + // PARAMS: 04 05 "NAM" + padding
      '0104000100060200' + '4556414c5545' + '0000' + // PARAMS: "EVALUE" + padding
      '0104000100000000', 'hex'); // empty PARAMS ends the stream
    assert.deepEqual(paramsOf(wire), [['NAME', 'VALUE']]);
  });

  it('decodes a four-byte length that straddles two PARAMS records (literal bytes)', () => {
    const value = 'v'.repeat(130);
    const content = Buffer.concat([Buffer.from('018000', 'hex'), Buffer.from('0082', 'hex'), Buffer.from('A'),
      Buffer.from(value)]);
    const wire = Buffer.concat([
      encodeRecord(RecordType.Params, 1, content.subarray(0, 3)),
      encodeRecord(RecordType.Params, 1, content.subarray(3)),
      encodeRecord(RecordType.Params, 1),
    ]);
    assert.equal(wire.subarray(0, 11).toString('hex'), '0104000100030500018000');
    assert.deepEqual(paramsOf(wire), [['A', value]]);
  });

  it('encodeParams splits pairs at any byte and ParamsStream puts them back together', () => {
    const pairs: NameValuePair[] = [
      ['REQUEST_METHOD', 'POST'], ['HTTP_COOKIE', 'c'.repeat(300)], ['EMPTY', ''], ['n'.repeat(140), 'v'],
    ];
    for (const maxContent of [1, 2, 3, 5, 8, 13, 64, 65528]) {
      const records = encodeParams(9, pairs, maxContent);
      const total = encodePairs(pairs).length;
      assert.equal(records.length, Math.ceil(total / maxContent) + 1, `maxContent ${maxContent}`);
      assert.deepEqual(paramsOf(Buffer.concat(records)), pairs, `maxContent ${maxContent}`);
    }
  });

  it('encodeParams ends the stream with exactly one empty PARAMS record', () => {
    const records = encodeParams(3, [['A', 'b']]);
    assert.equal(records.length, 2);
    assert.equal(records[1]!.toString('hex'), '0104000300000000');
    assert.equal(records[0]!.toString('hex'), '0104000300040400' + '0101' + '4162' + '00000000');
    assert.deepEqual(encodeParams(3, []).map((r) => r.toString('hex')), ['0104000300000000']);
  });

  it('ParamsStream counts the bytes it holds', () => {
    const stream = new ParamsStream(100);
    stream.append(Buffer.from([1, 1]));
    stream.append(Buffer.from('ab'));
    assert.equal(stream.byteLength, 4);
    assert.deepEqual(stream.decode(), [['a', 'b']]);
  });
});

describe('encodeStream', () => {
  it('splits more than 65528 bytes into aligned records of at most 65528 bytes', () => {
    const data = Buffer.alloc(2 * FCGI_MAX_ALIGNED_CONTENT + 5);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const records = encodeStream(RecordType.Stdout, 4, data);
    assert.deepEqual(records.map((r) => r.subarray(0, 8).toString('hex')), [
      '01060004fff80000', // 65528 = 0xfff8, no padding needed
      '01060004fff80000',
      '0106000400050300', // 5 bytes, 3 padding
    ]);
    for (const r of records) assert.equal(r.length % 8, 0, 'every record is 8-byte aligned');
    const decoded = decodeAll(Buffer.concat(records));
    assert.deepEqual(decoded.map((r) => r.contentLength), [65528, 65528, 5]);
    assert.equal(Buffer.concat(decoded.map((r) => r.content)).equals(data), true);
  });

  it('puts exactly 65528 bytes in one record and 65529 in two', () => {
    assert.equal(encodeStream(RecordType.Stdin, 1, Buffer.alloc(65528)).length, 1);
    const two = encodeStream(RecordType.Stdin, 1, Buffer.alloc(65529));
    assert.deepEqual(two.map((r) => r.length), [8 + 65528, 8 + 1 + 7]);
  });

  it('encodes no record for no data (the empty end-of-stream record is the caller\'s)', () => {
    assert.deepEqual(encodeStream(RecordType.Stdout, 1, Buffer.alloc(0)), []);
  });

  it('honours a smaller maxContent', () => {
    const records = encodeStream(RecordType.Stderr, 2, Buffer.from('abcdefghij'), 4);
    assert.deepEqual(records.map((r) => r.toString('hex')), [
      '0107000200040400' + '61626364' + '00000000',
      '0107000200040400' + '65666768' + '00000000',
      '0107000200020600' + '696a' + '000000000000',
    ]);
  });

  it('encodeRecord takes 65535 content bytes, the largest the header can carry', () => {
    const r = encodeRecord(RecordType.Stdout, 1, Buffer.alloc(65535, 0x61));
    assert.equal(r.subarray(0, 8).toString('hex'), '01060001ffff0100');
    assert.equal(r.length, 8 + 65535 + 1);
    assert.equal(decodeAll(r)[0]!.content.length, 65535);
  });
});

describe('forEachPair on large blocks', () => {
  it('decodes a block above 1 MiB (each name and value on its own) like a small one', () => {
    const big = 'b'.repeat((1 << 20) + 10);
    const pairs: NameValuePair[] = [['A', 'x'], ['BIG', big], ['Z', ''], ['LAST', 'y'.repeat(200)]];
    const encoded = encodePairs(pairs);
    assert.ok(encoded.length > 1 << 20);
    assert.deepEqual(decodePairs(encoded), pairs);
    assert.deepEqual(decodePairs(encodePairs(pairs.filter(([n]) => n !== 'BIG'))), pairs.filter(([n]) => n !== 'BIG'));
  });

  it('ParamsStream joins three appends and decodes them as one stream', () => {
    const bytes = encodePairs([['NAME', 'VALUE'], ['K', 'v'.repeat(140)]]);
    const stream = new ParamsStream(1000);
    stream.append(bytes.subarray(0, 3));
    stream.append(bytes.subarray(3, 9));
    stream.append(bytes.subarray(9));
    assert.equal(stream.byteLength, bytes.length);
    assert.deepEqual(stream.decode(), [['NAME', 'VALUE'], ['K', 'v'.repeat(140)]]);
    assert.deepEqual(new ParamsStream(10).decode(), []);
  });
});
