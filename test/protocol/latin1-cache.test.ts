import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Latin1Cache } from '../../src/protocol/latin1-cache';

describe('Latin1Cache', () => {
  it('decodes any byte range as latin-1, all 256 byte values included', () => {
    const cache = new Latin1Cache(16, 300);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.equal(cache.get(all, 0, 256), all.toString('latin1'));
    assert.equal(cache.get(all, 250, 256), all.toString('latin1', 250, 256));
    assert.equal(cache.get(all, 7, 7), '');
  });

  it('gives back the same string for bytes seen before, from any buffer and offset', () => {
    const cache = new Latin1Cache();
    const a = cache.get(Buffer.from('xxSERVER_SOFTWAREyy'), 2, 17);
    const b = cache.get(Buffer.from('SERVER_SOFTWARE'), 0, 15);
    assert.equal(a, 'SERVER_SOFTWARE');
    assert.ok(Object.is(a, b));
  });

  it('never confuses different bytes, even when every string lands in the one slot', () => {
    const cache = new Latin1Cache(1);
    const seen = new Map<string, string>();
    for (let i = 0; i < 2000; i++) {
      const text = `V${i % 37}-${(i * 7919) % 101}`;
      const got = cache.get(Buffer.from(text, 'latin1'), 0, text.length);
      assert.equal(got, text);
      seen.set(text, got);
    }
    // Same length, same bytes but one: a hash match alone must not be trusted.
    assert.equal(cache.get(Buffer.from('ab'), 0, 2), 'ab');
    assert.equal(cache.get(Buffer.from('ac'), 0, 2), 'ac');
  });

  it('decodes strings over maxLength without caching them, and stays correct past them', () => {
    const cache = new Latin1Cache(8, 4);
    const long = Buffer.from('abcdefgh');
    assert.equal(cache.get(long, 0, 8), 'abcdefgh');
    assert.equal(cache.get(long, 0, 4), 'abcd');
    assert.equal(cache.get(long, 4, 8), 'efgh');
  });

  it('refuses a slot count that is not a power of two', () => {
    assert.throws(() => new Latin1Cache(1000), RangeError);
  });
});
