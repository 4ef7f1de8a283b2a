import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COARSE_MS, coarseNow } from '../../src/fastcgi/coarse-clock';

describe('coarseNow', () => {
  it('reads the clock once per period while asked, and is never more than a period old', async () => {
    const before = Date.now();
    const first = coarseNow();
    assert.ok(first >= before - COARSE_MS && first <= Date.now(), 'close to Date.now()');
    await new Promise((r) => setTimeout(r, 5));
    if (Date.now() - first < COARSE_MS) assert.equal(coarseNow(), first, 'the same reading within the period');
    await new Promise((r) => setTimeout(r, COARSE_MS + 20));
    const later = coarseNow();
    assert.ok(later > first, 'a new reading after the period');
    assert.ok(Date.now() - later <= COARSE_MS, 'at most a period old');
  });
});
