import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { frameParams } from '../../src/client/framing';
import { isClientError } from '../../src/client/errors';
import { decodePairs, encodePairs } from '../../src/protocol';

const pairs: Array<[string, string]> = [
  ['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/a?b=c'], ['HTTP_X_LONG', 'v'.repeat(300)], ['E', ''],
];

/** boundaries: byte offsets where the encoded pairs start (0) and end. */
function pairEdges(list: Array<[string, string]>): Set<number> {
  const edges = new Set<number>([0]);
  let offset = 0;
  for (const pair of list) edges.add(offset += encodePairs([pair]).length);
  return edges;
}

describe('frameParams', () => {
  for (const framing of [
    { kind: 'stream' } as const, { kind: 'stream', maxContent: 7 } as const, { kind: 'one-record' } as const,
    { kind: 'pair-boundaries', maxContent: 64 } as const, { kind: 'split-pairs' } as const, { kind: 'bytewise' } as const,
  ]) {
    it(`${JSON.stringify(framing)}: the records joined decode to the pairs`, () => {
      assert.deepEqual(decodePairs(Buffer.concat(frameParams(pairs, framing))), pairs);
    });
  }

  it('split-pairs: every record boundary falls inside a pair', () => {
    const records = frameParams(pairs, { kind: 'split-pairs' });
    const edges = pairEdges(pairs);
    let offset = 0;
    for (const record of records.slice(0, -1)) {
      offset += record.length;
      assert.equal(edges.has(offset), false, `boundary at ${offset} is between pairs`);
    }
    assert.equal(records.length, pairs.length + 1);
  });

  it('pair-boundaries: each record decodes alone, except a pair longer than a record', () => {
    const records = frameParams(pairs.slice(0, 2), { kind: 'pair-boundaries', maxContent: 20 });
    assert.equal(records.length, 2);
    for (const r of records) assert.doesNotThrow(() => decodePairs(r));
  });

  it('bytewise: one byte per record', () => {
    const records = frameParams(pairs, { kind: 'bytewise' });
    assert.ok(records.every((r) => r.length === 1));
    assert.equal(records.length, encodePairs(pairs).length);
  });

  it('emits CLIENT_ERR_LIMIT when one-record framing gets more than 65535 bytes', () => {
    assert.throws(() => frameParams([['BIG', 'x'.repeat(70000)]], { kind: 'one-record' }), (err) => isClientError(err, 'CLIENT_ERR_LIMIT'));
  });
});
