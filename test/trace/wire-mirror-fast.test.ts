// The wire mirror's cheaper paths (bench/README "trace", eighth session) make the frames the
// general paths made: a DELTA cut by the base's pair starts and compared eight bytes at a time
// from both ends, the secret-name test remembered per names array, and a response head like the
// last clean one copied and compared in one loop.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/fastcgi/limits';
import { decodeParamList } from '../../src/fastcgi/param-list';
import { encodePairs, RecordType } from '../../src/protocol';
import { traceOptions } from '../../src/trace/redact';
import { FrameFlag, FrameKind, PARAMS_DELTA_FRAME_BYTES, PARAMS_FRAME_BYTES, RECORD_FRAME_BYTES } from '../../src/trace/wire-format';
import { WireMirror } from '../../src/trace/wire-mirror';

type Frame = { kind: number; at: number; end: number };

/** framesOf: a batch's frames (test data only). */
function framesOf(b: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let at = 0; at < b.length;) {
    const kind = b[at]!;
    const size = kind === FrameKind.time ? 9
      : kind === FrameKind.recordIn || kind === FrameKind.recordOut ? RECORD_FRAME_BYTES + b.readUInt32LE(at + 18)
        : kind === FrameKind.params ? PARAMS_FRAME_BYTES + b.readUInt32LE(at + 12)
          : kind === FrameKind.paramsDelta ? PARAMS_DELTA_FRAME_BYTES + b.readUInt32LE(at + 20) : NaN;
    if (Number.isNaN(size)) throw new Error(`frame kind ${kind}`);
    out.push({ kind, at, end: at + size });
    at += size;
  }
  return out;
}

/** encode: pairs of latin1 strings as a PARAMS stream (any bytes, NULs too). */
function encode(pairs: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  const len = (n: number): Buffer => (n < 128 ? Buffer.from([n]) : Buffer.from([(n >>> 24) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
  for (const [n, v] of pairs) parts.push(len(n.length), len(v.length), Buffer.from(n, 'latin1'), Buffer.from(v, 'latin1'));
  return Buffer.concat(parts);
}

/** starts: a PARAMS stream's pair starts and its length, or null when it is not well formed (the reference walks every pair). */
function starts(b: Buffer): number[] | null {
  const out: number[] = [];
  let i = 0;
  while (i < b.length) {
    out.push(i);
    const lengths: number[] = [];
    for (let k = 0; k < 2; k++) {
      if (i >= b.length) return null;
      if (b[i]! > 127) {
        if (i + 4 > b.length) return null;
        lengths.push(b.readUInt32BE(i) & 0x7fffffff);
        i += 4;
      } else lengths.push(b[i++]!);
    }
    i += lengths[0]! + lengths[1]!;
    if (i > b.length) return null;
  }
  out.push(b.length);
  return out;
}

/**
 * reference: what a PARAMS stream should go as after `base` (the last stream sent whole, null for
 * none): 'whole', or the DELTA's [p, s, mid], found the plain way (bytes one by one, every pair walked).
 */
function reference(base: Buffer | null, b: Buffer): 'whole' | [number, number, number] {
  if (base === null || b.length > 16 * 1024) return 'whole';
  const n = b.length;
  const bl = base.length;
  const max = Math.min(n, bl);
  let same = 0;
  while (same < max && b[same] === base[same]) same++;
  let tail = 0;
  while (tail < max - same && b[n - 1 - tail] === base[bl - 1 - tail]) tail++;
  const st = starts(b);
  if (st === null) return 'whole';
  let k = 0;
  while (k < st.length - 1 && st[k + 1]! <= same) k++;
  const p = st[k]!;
  while (k < st.length - 1 && st[k]! < n - tail) k++;
  const s = n - st[k]!;
  const mid = n - p - s;
  if (mid * 2 > n) return 'whole';
  if (!starts(base)!.includes(bl - s)) return 'whole';
  return [p, s, mid];
}

describe('wire mirror: the cheaper paths make the same frames', () => {
  afterEach(() => {
    traceOptions.showSecrets = false;
  });

  it('cuts every DELTA where a byte-by-byte comparison and a walk over all pairs would, whatever the bytes', () => {
    traceOptions.showSecrets = true; // no masking: the frames carry the streams as they are
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Values with runs of zero bytes and the bytes of a double -0 (0x80 then seven zeros) or a NaN:
    // words that compare equal as doubles though their bytes differ, or unequal though the same.
    const odd = ['\0'.repeat(16), `\x80${'\0'.repeat(15)}`, '\xff\xff\xff\xff\xff\xff\xf8\x7f'.repeat(2), 'x'.repeat(200)];
    const value = (): string => (rnd(4) === 0 ? odd[rnd(odd.length)]!.slice(0, 1 + rnd(16)) : String(rnd(100000)));
    const names = ['QUERY_STRING', 'REQUEST_METHOD', 'SCRIPT_NAME', 'REQUEST_URI', 'DOCUMENT_ROOT', 'REMOTE_PORT', 'HTTP_HOST', 'PATH_INFO', 'Z'];
    let pairs: Array<[string, string]> = names.map((nm) => [nm, value()]);
    const m = new WireMirror();
    let base: Buffer | null = null;
    const counts = { whole: 0, delta: 0, sameLength: 0 };
    for (let r = 0; r < 4000; r++) {
      const next = pairs.map(([nm, v]): [string, string] => [nm, v]);
      const change = rnd(12);
      if (change < 6) next[rnd(next.length)]![1] = value(); // one value (often the same length: REMOTE_PORT)
      else if (change < 7) next[rnd(next.length)]![1] = `\0${next[0]![1]}`; // a zero byte more
      else if (change < 8) next.splice(rnd(next.length + 1), 0, ['SCRIPT_NAME', value()]); // a name twice
      else if (change < 9) next.splice(rnd(next.length), 1);
      else if (change < 10) next.forEach((pair) => { pair[1] = value(); }); // most of it
      else if (change < 11) next.push(['LONG', 'y'.repeat(120 + rnd(400))]);
      if (next.length === 0) next.push(['A', 'b']);
      let bytes = encode(next);
      if (rnd(40) === 0) bytes = bytes.subarray(0, bytes.length - 1); // not well formed
      else pairs = next;
      if (rnd(300) === 0) {
        m.clear();
        base = null;
      }
      // As the connection hands it over: a view at an odd offset of a larger read.
      const read = Buffer.alloc(bytes.length + 11, 0xee);
      bytes.copy(read, 3);
      const want = reference(base, bytes);
      const sameLength = base !== null && base.length === bytes.length;
      m.params(1, r, 1, read.subarray(3, 3 + bytes.length), { names: [] });
      const b = Buffer.from(m.take(), 'base64');
      const frame = framesOf(b).find((f) => f.kind === FrameKind.params || f.kind === FrameKind.paramsDelta)!;
      if (frame.kind === FrameKind.params) {
        assert.equal(want, 'whole', `stream ${r}: sent whole, expected a DELTA ${String(want)}`);
        assert.deepEqual(b.subarray(frame.at + PARAMS_FRAME_BYTES, frame.end), bytes);
        base = starts(bytes) === null ? null : Buffer.from(bytes);
        counts.whole++;
      } else {
        const got = [b.readUInt32LE(frame.at + 12), b.readUInt32LE(frame.at + 16), b.readUInt32LE(frame.at + 20)];
        assert.deepEqual(got, want, `stream ${r}`);
        assert.deepEqual(b.subarray(frame.at + PARAMS_DELTA_FRAME_BYTES, frame.end), bytes.subarray(got[0]!, got[0]! + got[2]!));
        counts.delta++;
        if (sameLength) counts.sameLength++;
      }
    }
    // Both kinds, and DELTAs of streams as long as their base (compared from the end by words), many times.
    assert.ok(counts.whole > 100 && counts.delta > 1000 && counts.sameLength > 500, JSON.stringify(counts));
  });

  it('tells a word of zero bytes from one that reads as -0, from either end', () => {
    traceOptions.showSecrets = true;
    const zeros = '\0'.repeat(24);
    const stream = (a: string, port: string, c: string): Buffer =>
      encode([['P', 'x'.repeat(300)], ['A', a], ['REMOTE_PORT', port], ['C', c], ['Q', 'y'.repeat(300)]]);
    const base = stream(zeros, '11111', zeros);
    /** negZero: the zeros with 0x80 where a word of the stream ends (the sign of a little-endian double) in the value at `value`. */
    const negZero = (value: number): string => {
      const i = 7 + ((7 - ((value + 7) % 8)) % 8);
      return `${zeros.slice(0, i)}\x80${zeros.slice(i + 1)}`;
    };
    const aValue = base.indexOf('A') + 1;
    const cValue = base.indexOf('C', base.indexOf('REMOTE_PORT')) + 1;
    const m = new WireMirror();
    m.params(1, 1, 1, base, { names: [] });
    m.take();
    // A's -0 before the port (found from the start), C's after it (found from the end), and A's alone.
    for (const next of [stream(negZero(aValue), '22222', zeros), stream(zeros, '22222', negZero(cValue)), stream(negZero(aValue), '11111', zeros)]) {
      assert.equal(next.length, base.length);
      assert.notDeepEqual(next, base);
      m.params(1, 2, 1, next, { names: [] });
      const b = Buffer.from(m.take(), 'base64');
      const f = framesOf(b).find((x) => x.kind === FrameKind.paramsDelta)!;
      assert.deepEqual([b.readUInt32LE(f.at + 12), b.readUInt32LE(f.at + 16), b.readUInt32LE(f.at + 20)], reference(base, next));
    }
  });

  it('stamps a TIME frame with the epoch time in ms, a little-endian double, as writeDoubleLE wrote it', () => {
    const m = new WireMirror();
    const before = performance.timeOrigin + performance.now();
    m.recordIn(1, 1, RecordType.Stdin, 1, 0, 0, Buffer.alloc(0), false);
    const after = performance.timeOrigin + performance.now();
    const b = Buffer.from(m.take(), 'base64');
    assert.equal(b[0], FrameKind.time);
    const t = b.readDoubleLE(1);
    assert.ok(t >= before && t <= after, `${t} not within ${before}..${after}`);
  });

  it('masks a secret param of a stream whose names differ from the last stream\'s (the secret test is per names array)', () => {
    const m = new WireMirror();
    const plain: Array<[string, string]> = [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['REMOTE_PORT', '1'], ['HTTP_HOST', 'h'],
      ['DOCUMENT_ROOT', '/srv/www/a/rather/long/document/root/for/this/test']];
    const first = encodePairs(plain);
    m.params(1, 1, 1, first, decodeParamList(first, DEFAULT_LIMITS));
    // The same stream twice more (one names array, remembered), then one with a cookie added at its end: a DELTA.
    m.params(1, 2, 1, first, decodeParamList(first, DEFAULT_LIMITS));
    m.params(1, 3, 1, first, decodeParamList(first, DEFAULT_LIMITS));
    const withCookie = encodePairs([...plain, ['HTTP_COOKIE', 's3cret']]);
    m.params(1, 4, 1, withCookie, decodeParamList(withCookie, DEFAULT_LIMITS));
    const b = Buffer.from(m.take(), 'base64');
    assert.deepEqual(framesOf(b).filter((f) => f.kind !== FrameKind.time).map((f) => f.kind),
      [FrameKind.params, FrameKind.paramsDelta, FrameKind.paramsDelta, FrameKind.paramsDelta]);
    assert.equal(b.includes('s3cret'), false);
    const last = framesOf(b).at(-1)!;
    assert.equal(b[last.at + 1]! & FrameFlag.masked, FrameFlag.masked);
  });

  it('sends a head like the last clean one as the frame the general path made for it, and masks one that only looks like it', () => {
    const m = new WireMirror();
    const slab = Buffer.alloc(4096);
    /** respond: a response's first STDOUT record (its head and `body`) at an odd place in the slab, as the connection writes it. */
    const respond = (rid: number, head: string, body: string): { at: number; state: { wireHead: number } } => {
      const from = 5 + (rid % 7);
      const n = slab.write(head + body, from, 'latin1');
      const state = { wireHead: 0 };
      return { at: m.recordOut(1, rid, RecordType.Stdout, 1, n, 0, slab, from, state), state };
    };
    const clean = 'Status: 200 OK\r\nContent-Type: text/plain\r\nX-Note: abcdefgh\r\n\r\n';
    const secret = 'Status: 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: zzzz\r\n\r\n'; // as long as the clean head
    assert.equal(secret.length, clean.length);
    const general = respond(1, clean, 'hello'); // found by its end, checked for secrets, and remembered as clean
    const known = respond(2, clean, 'hello again');
    const other = respond(3, secret, 'hello');
    const b = Buffer.from(m.take(), 'base64');
    const records = framesOf(b).filter((f) => f.kind === FrameKind.recordOut);
    assert.equal(records.length, 3); // a frame taken back is not left behind
    const [g, k, o] = records as [Frame, Frame, Frame];
    // The same frame but for its rid and content length: the head flag, the head's bytes, nothing of the body.
    const strip = (f: Frame): Buffer => Buffer.concat([b.subarray(f.at, f.at + 6), b.subarray(f.at + 10, f.at + 14), b.subarray(f.at + 16, f.end)]);
    assert.deepEqual(strip(k), strip(g));
    assert.equal(b[k.at + 1], FrameFlag.head);
    assert.equal(b.subarray(k.at + RECORD_FRAME_BYTES, k.end).toString('latin1'), clean);
    assert.deepEqual([general.state.wireHead, known.state.wireHead], [-1, -1]);
    assert.ok(general.at >= 0 && known.at >= 0); // growable: nothing more of these records is sent
    // The head of the clean one's length with a Set-Cookie: masked, never sent.
    assert.equal(b[o.at + 1], FrameFlag.head | FrameFlag.masked);
    assert.equal(b.subarray(o.at, o.end).includes('zzzz'), false);
    assert.equal(other.state.wireHead, -1);
  });
});
