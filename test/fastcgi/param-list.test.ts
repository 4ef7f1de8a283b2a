import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeParamList } from '../../src/fastcgi/param-list';
import { normaliseLimits } from '../../src/fastcgi/limits';
import { decodePairs, encodePairs } from '../../src/protocol';

const limits = normaliseLimits({});

/** mapOf: what the params were before ParamList: a Map filled pair by pair, the last duplicate winning. */
function mapOf(pairs: ReadonlyArray<readonly [string, string]>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [n, v] of pairs) map.set(n, v);
  return map;
}

function assertSameAsMap(pairs: ReadonlyArray<readonly [string, string]>): void {
  const expected = mapOf(pairs);
  const list = decodeParamList(encodePairs(pairs), normaliseLimits({ maxParams: 10_000 }));
  const seen: Array<[string, string]> = [];
  list.forEach((value, name) => seen.push([name, value]));
  assert.deepEqual(seen, [...expected], 'forEach: Map order and values');
  assert.deepEqual([...list.toMap()], [...expected], 'toMap');
  for (const [name, value] of expected) assert.equal(list.get(name), value, `get(${name})`);
  assert.equal(list.get('NOT_SENT'), undefined);
}

describe('decodeParamList', () => {
  it('reads pairs as a Map would, the same stream again and again (names from the cache)', () => {
    const pairs: Array<[string, string]> = [
      ['QUERY_STRING', ''], ['REQUEST_METHOD', 'GET'], ['SCRIPT_NAME', '/'], ['REQUEST_URI', '/x?y'],
      ['HTTP_HOST', 'a.example'], ['SCRIPT_NAME', ''], ['PATH_INFO', '/'],
    ];
    for (let i = 0; i < 3; i++) assertSameAsMap(pairs);
    const list = decodeParamList(encodePairs(pairs), limits);
    assert.deepEqual(list.names, ['QUERY_STRING', 'REQUEST_METHOD', 'SCRIPT_NAME', 'REQUEST_URI', 'HTTP_HOST', 'PATH_INFO']);
    assert.equal(list.get('SCRIPT_NAME'), '', 'the last duplicate wins, in the first place');
  });

  it('keeps Map semantics when many names share cache slots (names pushed out mid-stream)', () => {
    // 3000 names over 512 slots: every pair of slots is shared many times, so names met earlier in
    // the same stream are pushed out and come back; each name is sent twice, far apart.
    const names = Array.from({ length: 1500 }, (_, i) => `HTTP_X_${i.toString(36).toUpperCase()}`);
    const pairs: Array<[string, string]> = [];
    for (const n of names) pairs.push([n, `first ${n}`]);
    for (const n of names.slice().reverse()) pairs.push([n, `last ${n}`]);
    assertSameAsMap(pairs);
    assertSameAsMap(pairs.slice(0, 700).concat(pairs.slice(2200)));
  });

  it('handles names the cache does not keep (empty, long) and a duplicate of them', () => {
    const long = `HTTP_${'L'.repeat(100)}`;
    assertSameAsMap([['', 'a'], [long, '1'], ['B', 'b'], ['', 'c'], [long, '2']]);
  });

  it('grows its lists when a stream has more params than the last one (cached, uncached and duplicate names)', () => {
    // The lists are sized for the last stream's count and grown by copying (param-list.ts, grown):
    // a short stream, then longer ones that outgrow it at a cached name and at an uncached one,
    // with duplicates on both sides of the growth, then a short one again.
    const short: Array<[string, string]> = [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['HTTP_HOST', 'h']];
    const cached = Array.from({ length: 40 }, (_, i) => [`HTTP_X_GROW_${i}`, `v${i}`] as [string, string]);
    const uncached = Array.from({ length: 40 }, (_, i) => [`HTTP_${'U'.repeat(70)}${i}`, `u${i}`] as [string, string]);
    for (let round = 0; round < 2; round++) {
      assertSameAsMap(short);
      assertSameAsMap([...short, ...cached, ['REQUEST_METHOD', 'POST'], ['HTTP_X_GROW_3', 'again']]);
      assertSameAsMap(short);
      assertSameAsMap([...short, ...uncached, ...cached.slice(0, 5), [uncached[0]![0], 'again'], ['HTTP_HOST', 'last']]);
      assertSameAsMap([['A', '1']]);
      assertSameAsMap([...uncached, ...uncached]);
    }
  });

  it('counts every pair against maxParams, duplicates too, and checks lengths', () => {
    const few = normaliseLimits({ maxParams: 2 });
    assert.throws(() => decodeParamList(encodePairs([['A', '1'], ['A', '2'], ['A', '3']]), few), { code: 'FCGI_ERR_PARAMS_LIMIT' });
    const short = normaliseLimits({ maxValueBytes: 3 });
    assert.throws(() => decodeParamList(encodePairs([['A', '1234']]), short), { code: 'FCGI_ERR_PARAMS_LIMIT' });
    const truncated = encodePairs([['NAME', 'value']]).subarray(0, 5);
    assert.throws(() => decodeParamList(truncated, limits), { code: 'FCGI_ERR_TRUNCATED_PAIR' });
  });

  it('agrees with decodePairs on latin-1 bytes', () => {
    const bytes = Buffer.concat([Buffer.from([4, 2]), Buffer.from('NAMEé\xff', 'latin1')]);
    const list = decodeParamList(bytes, limits);
    assert.deepEqual([...list.toMap()], decodePairs(bytes));
  });
});
