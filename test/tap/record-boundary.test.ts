import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType, encodeBeginRequest, encodeRecord } from '../../src/protocol';
import { RecordBoundary } from '../../src/tap/record-boundary';

/** Three records (one padded, one empty) and where each starts. */
const records = [encodeBeginRequest(1, 1, 1), encodeRecord(RecordType.Stdin, 1, Buffer.alloc(300, 7), 4), encodeRecord(RecordType.Stdin, 1)];
const stream = Buffer.concat(records);
const starts = records.map((_, i) => records.slice(0, i).reduce((n, r) => n + r.length, 0));

describe('RecordBoundary', () => {
  it('finds the first record that begins in a chunk, for the stream split at every byte', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const boundary = new RecordBoundary();
      const first = boundary.next(stream.subarray(0, cut));
      const second = boundary.next(stream.subarray(cut));
      const inFirst = starts.find((s) => s < cut);
      const inSecond = starts.find((s) => s >= cut && s < stream.length);
      assert.equal(first, inFirst ?? -1, `cut ${cut}, first chunk`);
      assert.equal(second, inSecond === undefined ? -1 : inSecond - cut, `cut ${cut}, second chunk`);
      assert.equal(boundary.lost, false);
    }
  });

  it('bytes that are not records (an HTTP request): lost, and no boundary is reported', () => {
    const boundary = new RecordBoundary();
    assert.equal(boundary.next(Buffer.from('GET / HTTP/1.1\r\n\r\n')), -1);
    assert.equal(boundary.lost, true);
    assert.equal(boundary.next(stream), -1);
  });
});
