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

/** manyLimits: one object, so that a stream decoded again can be recalled (param-memo.ts checks the limits' identity). */
const manyLimits = normaliseLimits({ maxParams: 10_000 });

function assertSameAsMap(pairs: ReadonlyArray<readonly [string, string]>): void {
  const expected = mapOf(pairs);
  const list = decodeParamList(encodePairs(pairs), manyLimits);
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

  it('takes exactly maxParams pairs and names and values of exactly the longest lengths', () => {
    const few = normaliseLimits({ maxParams: 3, maxNameBytes: 4, maxValueBytes: 5 });
    const pairs: Array<[string, string]> = [['A', '1'], ['NAME', '12345'], ['A', '2']];
    assert.deepEqual([...decodeParamList(encodePairs(pairs), few).toMap()], [['A', '2'], ['NAME', '12345']]);
    assert.throws(() => decodeParamList(encodePairs([['NAMES', '1']]), few), { code: 'FCGI_ERR_PARAMS_LIMIT' });
    assert.throws(() => decodeParamList(encodePairs([['NAME', '123456']]), few), { code: 'FCGI_ERR_PARAMS_LIMIT' });
  });

  it('decodes a stream above 1 MiB (each name and value on its own) as a small one, limits included', () => {
    const big = normaliseLimits({ maxValueBytes: 2 << 20 });
    const pairs: Array<[string, string]> = [['HTTP_X_BIG', 'v'.repeat(1 << 20)], ['A', '1'], ['A', '2']];
    const list = decodeParamList(encodePairs(pairs), big);
    assert.deepEqual([...list.toMap()], [...mapOf(pairs)]);
    assert.equal(list.get('A'), '2');
    assert.throws(() => decodeParamList(encodePairs(pairs), normaliseLimits({ maxValueBytes: 2 << 20, maxParams: 2 })), { code: 'FCGI_ERR_PARAMS_LIMIT' });
  });

  it('agrees with decodePairs on latin-1 bytes', () => {
    const bytes = Buffer.concat([Buffer.from([4, 2]), Buffer.from('NAMEé\xff', 'latin1')]);
    const list = decodeParamList(bytes, limits);
    assert.deepEqual([...list.toMap()], decodePairs(bytes));
  });
});

/** nginxLike: a hello request's PARAMS as nginx sends them (SCRIPT_NAME twice), with this REMOTE_PORT. */
function nginxLike(port: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  return [
    ['QUERY_STRING', ''], ['REQUEST_METHOD', 'GET'], ['CONTENT_TYPE', ''], ['SCRIPT_NAME', '/'], ['REQUEST_URI', '/'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'], ['REMOTE_ADDR', '127.0.0.1'], ['REMOTE_PORT', port], ['SERVER_PORT', '8080'],
    ['SCRIPT_NAME', ''], ['PATH_INFO', '/'], ['HTTP_HOST', '127.0.0.1:8080'], ...extra,
  ];
}

/** listOf: a list's pairs in its order, for deepEqual. */
function listOf(list: ReturnType<typeof decodeParamList>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  list.forEach((value, name) => out.push([name, value]));
  return out;
}

describe('decodeParamList: the last stream remembered (param-memo.ts)', () => {
  it('recalls a stream that differs from the last one only inside values, and slices just those', () => {
    // A stream is remembered when the one before it had its length (param-memo.ts, begin).
    decodeParamList(encodePairs(nginxLike('4000')), limits);
    const other = decodeParamList(encodePairs(nginxLike('40001')), limits);
    assert.equal(other.remembered, false, 'after another length: not remembered');
    const first = decodeParamList(encodePairs(nginxLike('40001')), limits);
    assert.equal(first.remembered, true);
    const second = decodeParamList(encodePairs(nginxLike('40002')), limits);
    assert.equal(second.names, first.names, 'recalled: the names list is shared');
    assert.equal(second.remembered, true);
    assert.notEqual(second.values, first.values, 'never the values list');
    assert.deepEqual(listOf(second), [...mapOf(nginxLike('40002'))]);
    assert.deepEqual(listOf(first), [...mapOf(nginxLike('40001'))], 'the earlier list is unchanged');
    const same = decodeParamList(encodePairs(nginxLike('40002')), limits);
    assert.equal(same.names, first.names);
    assert.deepEqual(listOf(same), [...mapOf(nginxLike('40002'))]);
    assert.equal(same.get('REMOTE_PORT'), '40002');
  });

  it('recalls a changed value of every short length (0 to 8 bytes) byte for byte', () => {
    for (let n = 0; n <= 8; n++) {
      const stream = (c: string): Array<[string, string]> => nginxLike('40001', [['HTTP_X_TOKEN', Array.from({ length: n }, (_, i) => String.fromCharCode(c.charCodeAt(0) + i)).join('')]]);
      decodeParamList(encodePairs(stream('a')), limits);
      decodeParamList(encodePairs(stream('a')), limits);
      const recalled = decodeParamList(encodePairs(stream('k')), limits);
      assert.equal(recalled.remembered, true, `length ${n}`);
      assert.deepEqual(listOf(recalled), [...mapOf(stream('k'))], `length ${n}`);
    }
  });

  it('keeps the last duplicate winning when a duplicate name\'s value changes', () => {
    decodeParamList(encodePairs(nginxLike('40001')), limits);
    // The first SCRIPT_NAME ('/' -> 'x') is overridden by the second; the second ('' stays) wins.
    const firstChanged = nginxLike('40001').map(([n, v], i): [string, string] => [n, i === 3 ? 'x' : v]);
    assert.deepEqual(listOf(decodeParamList(encodePairs(firstChanged), limits)), [...mapOf(firstChanged)]);
    const a = [...nginxLike('40001'), ['SCRIPT_NAME', 'ab']] as Array<[string, string]>;
    const b = [...nginxLike('40001'), ['SCRIPT_NAME', 'cd']] as Array<[string, string]>;
    decodeParamList(encodePairs(a), limits);
    const list = decodeParamList(encodePairs(b), limits);
    assert.equal(list.get('SCRIPT_NAME'), 'cd');
    assert.deepEqual(listOf(list), [...mapOf(b)]);
  });

  it('does not remember streams whose length changes from one to the next (mixed traffic)', () => {
    for (let i = 0; i < 6; i++) {
      const pairs = nginxLike('40001', [['HTTP_X', 'x'.repeat(i % 3)]]);
      const list = decodeParamList(encodePairs(pairs), limits);
      assert.equal(list.remembered, false);
      assert.deepEqual(listOf(list), [...mapOf(pairs)]);
    }
  });

  it('decodes in full when a name or a length changes, whatever the total length', () => {
    decodeParamList(encodePairs([['HTTP_A', '12'], ['HTTP_B', '3']]), limits);
    const moved = decodeParamList(encodePairs([['HTTP_A', '1'], ['HTTP_B', '23']]), limits);
    assert.deepEqual(listOf(moved), [['HTTP_A', '1'], ['HTTP_B', '23']]);
    const renamed = decodeParamList(encodePairs([['HTTP_C', '1'], ['HTTP_B', '23']]), limits);
    assert.deepEqual(listOf(renamed), [['HTTP_C', '1'], ['HTTP_B', '23']]);
    const last = decodeParamList(encodePairs([['HTTP_C', '1'], ['HTTP_B', '24']]), limits);
    assert.deepEqual(listOf(last), [['HTTP_C', '1'], ['HTTP_B', '24']], 'a change in the last byte');
  });

  it('compares eight bytes at a time exactly: +0 and -0 differ, equal NaN bits do not', () => {
    // The memo compares the stream (copied to offset 0) as doubles; a value of 24 bytes covers a
    // whole word whatever the offset. Zeros, then the same word with its top byte 0x80 (-0).
    const zeros = '\0'.repeat(24);
    const pairs = (value: string): Array<[string, string]> => [['HTTP_A', 'x'], ['HTTP_B', value], ['HTTP_C', 'y']];
    decodeParamList(encodePairs(pairs(zeros)), limits);
    const first = decodeParamList(encodePairs(pairs(zeros)), limits);
    const valueAt = 2 + 6 + 1 + 2 + 6; // HTTP_B's value
    const word = Math.ceil(valueAt / 8) * 8;
    const negative = zeros.split('');
    negative[word + 7 - valueAt] = '\x80';
    const second = decodeParamList(encodePairs(pairs(negative.join(''))), limits);
    assert.equal(second.names, first.names, 'recalled');
    assert.equal(second.get('HTTP_B'), negative.join(''));
    const nan = '\xff'.repeat(24);
    decodeParamList(encodePairs(pairs(nan)), limits);
    const again = decodeParamList(encodePairs(pairs(nan)), limits);
    assert.equal(again.names, first.names, 'NaN words: compared by bytes, recalled');
    assert.equal(again.get('HTTP_B'), nan);
  });

  it('checks the limits it is given: a stream recalled under other limits is decoded again', () => {
    const pairs: Array<[string, string]> = [['A', '1234'], ['B', 'x']];
    decodeParamList(encodePairs(pairs), limits);
    assert.throws(() => decodeParamList(encodePairs(pairs), normaliseLimits({ maxValueBytes: 3 })), { code: 'FCGI_ERR_PARAMS_LIMIT' });
    assert.throws(() => decodeParamList(encodePairs(pairs), normaliseLimits({ maxParams: 1 })), { code: 'FCGI_ERR_PARAMS_LIMIT' });
  });

  it('agrees with decodePairs on streams one to three bytes away from the last one (seeded)', () => {
    let seed = 7; // xorshift32
    const random = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pairs = nginxLike('40001', [['HTTP_COOKIE', 'a=1; b=2'], ['SCRIPT_NAME', 'z']]);
    const base = encodePairs(pairs);
    // Where the values' bytes are (every length here fits the one-byte form): most changes go there.
    const valueBytes: number[] = [];
    let at = 0;
    for (const [name, value] of pairs) {
      at += 2 + name.length;
      for (let j = 0; j < value.length; j++) valueBytes.push(at + j);
      at += value.length;
    }
    let recalled = 0;
    for (let i = 0; i < 3000; i++) {
      const first = decodeParamList(base, manyLimits);
      const bytes = Buffer.from(base);
      for (let k = 0, changes = 1 + random(3); k < changes; k++) {
        // Mostly printable bytes, as in values; sometimes any byte (lengths, the 4-byte form).
        const where = random(4) === 0 ? random(bytes.length) : valueBytes[random(valueBytes.length)]!;
        bytes[where] = random(4) === 0 ? random(256) : 32 + random(95);
      }
      let expected: Array<[string, string]> | Error;
      try {
        expected = [...mapOf(decodePairs(bytes))];
      } catch (err) {
        expected = err as Error;
      }
      let got: Array<[string, string]> | Error;
      try {
        const list = decodeParamList(bytes, manyLimits);
        if (list.names === first.names) recalled++;
        got = listOf(list);
      } catch (err) {
        got = err as Error;
      }
      if (expected instanceof Error) assert.ok(got instanceof Error, `stream ${i}: decodePairs threw ${expected.message}, decodeParamList did not`);
      else assert.deepEqual(got, expected, `stream ${i}`);
    }
    assert.ok(recalled > 1000, `most streams were recalled (${recalled})`);
  });
});
