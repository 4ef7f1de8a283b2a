import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type FastCGIRecord, isProtocolError, ParamsStream, RecordDecoder } from '../../src/protocol';
import { mutate, Rng, splitRandomly, validStream } from './mutate';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? '1.5');

function decodeAll(chunks: Buffer[]): { records: FastCGIRecord[]; error: string | null } {
  const records: FastCGIRecord[] = [];
  const decoder = new RecordDecoder((r) => records.push({ ...r, content: Buffer.from(r.content) }));
  try {
    for (const c of chunks) decoder.push(c);
    decoder.end();
    return { records, error: null };
  } catch (err) {
    if (!isProtocolError(err)) throw err; // anything else is a bug
    return { records, error: err.code };
  }
}

describe('decoder fuzz (seeded, time-bounded; FUZZ_SECONDS for longer runs)', () => {
  it('never throws anything but a ProtocolError, and any split of the bytes gives the same result', () => {
    const deadline = Date.now() + SECONDS * 1000;
    let streams = 0;
    for (let seed = 1; Date.now() < deadline; seed++, streams++) {
      const rng = new Rng(seed);
      const bytes = rng.int(10) === 0 ? rng.bytes(rng.int(512)) : mutate(rng, validStream(rng));
      const whole = decodeAll([bytes]);
      const split = decodeAll(splitRandomly(rng, bytes));
      assert.deepEqual(split, whole, `seed ${seed}`);
      for (const r of whole.records) {
        if (r.type !== 4 || r.content.length === 0) continue;
        const params = new ParamsStream(1 << 20);
        params.append(r.content);
        try {
          params.decode();
        } catch (err) {
          assert.ok(isProtocolError(err), `seed ${seed}: pair decoding threw ${String(err)}`);
        }
      }
    }
    assert.ok(streams > 100, `only ${streams} streams in ${SECONDS}s`);
  });
});
