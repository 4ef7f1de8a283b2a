import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maybePrune, pruneCacheDir } from '../../src/launch/cache-prune';

const work = mkdtempSync(join(tmpdir(), 'dualcgi-cache-prune-'));
after(() => rmSync(work, { recursive: true, force: true }));

const NOW = 1_800_000_000_000;
const DAY = 24 * 3600 * 1000;
const limits = { maxAgeMs: 7 * DAY, maxBlobs: 3, everyMs: 3600 * 1000 };

/** folder: files by name with their age in ms. */
function folder(name: string, files: Record<string, number>): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const [file, age] of Object.entries(files)) {
    writeFileSync(join(dir, file), 'x');
    utimesSync(join(dir, file), (NOW - age) / 1000, (NOW - age) / 1000);
  }
  return dir;
}

describe('the compile cache folder, kept bounded', () => {
  it('removes blobs not written for maxAge, then the oldest past maxBlobs, and stale locks; leaves other files', () => {
    const dir = folder('a', {
      '0000000a.bin': 30 * DAY, '0000000b.bin': 8 * DAY, // too old
      '0000000c.bin': 1000, '0000000d.bin': 2 * DAY, '0000000e.bin': 3 * DAY, '0000000f.bin': 4 * DAY, // one too many
      '0000000c.bin.tmp': 5000, '0000000d.bin.tmp': 60_000, // a writer now, a killed one
      'notes.txt': 90 * DAY, '0000000g.bin': 90 * DAY, 'abc.bin': 90 * DAY, // not names the cache makes
    });
    assert.equal(pruneCacheDir(dir, NOW, limits), 4);
    assert.deepEqual(readdirSync(dir).sort(), ['0000000c.bin', '0000000c.bin.tmp', '0000000d.bin', '0000000e.bin', '0000000g.bin', 'abc.bin', 'notes.txt']);
  });

  it('prunes at most once per everyMs, marked by the folder\'s .pruned file', () => {
    const dir = folder('b', { '00000001.bin': 30 * DAY });
    assert.equal(maybePrune(dir, NOW - 2 * 3600 * 1000, limits), 1);
    assert.ok(existsSync(join(dir, '.pruned')));
    writeFileSync(join(dir, '00000002.bin'), 'x');
    utimesSync(join(dir, '00000002.bin'), (NOW - 30 * DAY) / 1000, (NOW - 30 * DAY) / 1000);
    assert.equal(maybePrune(dir, NOW - 2 * 3600 * 1000 + 1800 * 1000, limits), 0, 'within the hour: left');
    assert.ok(existsSync(join(dir, '00000002.bin')));
    assert.equal(maybePrune(dir, NOW, limits), 1, 'an hour later: pruned');
    assert.ok(!existsSync(join(dir, '00000002.bin')));
  });

  it('never throws: a folder that is gone prunes nothing', () => {
    assert.equal(maybePrune(join(work, 'gone'), NOW, limits), 0);
  });
});
