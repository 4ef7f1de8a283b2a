import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodePairs, type FastCGIRecord, isProtocolError, ParamsStream, RecordDecoder } from '../../src/protocol';
import { mutate, Rng, splitRandomly, validStream } from './mutate';
import { ReferenceDecoder, referencePairs } from './reference';

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

/** outcome: records (copied), the error code, and the decoder's view of what is pending after each push. */
function outcome(decoder: { push(c: Buffer): void; bufferedBytes: number; isAtRecordBoundary: boolean },
  chunks: Buffer[]): { error: string | null; after: Array<[number, boolean]> } {
  const after: Array<[number, boolean]> = [];
  try {
    for (const c of chunks) {
      decoder.push(c);
      after.push([decoder.bufferedBytes, decoder.isAtRecordBoundary]);
    }
    return { error: null, after };
  } catch (err) {
    if (!isProtocolError(err)) throw err;
    return { error: err.code, after };
  }
}

function pairsOutcome(decode: () => unknown): unknown {
  try {
    return decode();
  } catch (err) {
    if (!isProtocolError(err)) throw err;
    return err.code;
  }
}

describe('decoder differential fuzz (against the obvious decoders of test/fuzz/reference)', () => {
  it('RecordDecoder and forEachPair agree with the reference on records, errors and pending bytes', () => {
    const deadline = Date.now() + SECONDS * 1000;
    let streams = 0;
    for (let seed = 1; Date.now() < deadline; seed++, streams++) {
      const rng = new Rng(seed);
      const bytes = rng.int(10) === 0 ? rng.bytes(rng.int(512)) : mutate(rng, validStream(rng));
      const chunks = splitRandomly(rng, bytes);
      const records: FastCGIRecord[] = [];
      const ours = outcome(new RecordDecoder((r) => records.push({ ...r, content: Buffer.from(r.content) })), chunks);
      const ref = new ReferenceDecoder();
      const theirs = outcome(ref, chunks);
      assert.deepEqual(ours, theirs, `seed ${seed}`);
      assert.deepEqual(records, ref.records, `seed ${seed}`);
      for (const r of records) {
        if (r.type !== 4 || r.content.length === 0) continue;
        assert.deepEqual(pairsOutcome(() => decodePairs(r.content)), pairsOutcome(() => referencePairs(r.content)),
          `seed ${seed}: pairs`);
      }
    }
    assert.ok(streams > 100, `only ${streams} streams in ${SECONDS}s`);
  });
});
