import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { rotated } from '../../bench/lib/http-rounds';

test('rotated: each round starts one variant later, wrapping around', () => {
  const v = ['off', 'none', 'in-process', 'tail', 'dashboard'];
  assert.deepEqual(rotated(v, 0), v);
  assert.deepEqual(rotated(v, 1), ['none', 'in-process', 'tail', 'dashboard', 'off']);
  assert.deepEqual(rotated(v, 7), ['in-process', 'tail', 'dashboard', 'off', 'none']);
  assert.deepEqual(rotated(v, -1), ['dashboard', 'off', 'none', 'in-process', 'tail']);
  assert.deepEqual(v, ['off', 'none', 'in-process', 'tail', 'dashboard'], 'the input is not changed');
});

test('rotated: over as many rounds as variants, every variant runs once in every place', () => {
  const v = ['a', 'b', 'c', 'd'];
  for (let place = 0; place < v.length; place++) {
    const seen = new Set(v.map((_, r) => rotated(v, r)[place]));
    assert.equal(seen.size, v.length);
  }
  assert.deepEqual(rotated([], 3), []);
});
