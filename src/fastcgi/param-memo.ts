import type { Latin1Sliceable } from '../protocol/pairs';
import type { ConnectionLimits } from './limits';

/**
 * ParamsMemo: the last PARAMS stream decodeParamList decoded in full, kept so that the next one can
 * skip the decode when it is the same bytes but for some values. Behind nginx, one location's
 * requests send the same names in the same order, and mostly the same values: for wrk's hello
 * only REMOTE_PORT differs from one request to the next. A stream of the same length is copied
 * next to the remembered one and compared eight bytes at a time; if every differing byte lies
 * inside a value, the remembered values are copied and only the changed ones are sliced out.
 * Anything else (another length, a changed name or length byte, other limits) returns null and the
 * caller decodes in full, which records the new stream here if it has the length of the stream
 * before it: streams of changing lengths (mixed traffic) are not copied and recorded for nothing
 * (that cost ~0.3 us per decode and head when every stream missed).
 *
 * Speed (bench/README.md, nginx, "seventh session"): decode + head of nginx-like hello params
 * ~1020 -> ~340 ns in process; the backend's CPU per hello behind nginx 0.7-1.4 us lower.
 */

/** MEMO_MAX_BYTES: longer streams are not remembered (nginx's hello PARAMS are ~600 bytes). */
const MEMO_MAX_BYTES = 4096;
/** MEMO_MAX_PAIRS: streams with more pairs are not remembered. */
const MEMO_MAX_PAIRS = 256;

/**
 * latin1Value: the bytes start..end as a latin1 string. Up to 6 bytes (REMOTE_PORT, the value that
 * changes behind nginx) in JS: latin1Slice is a C++ call (the API callback, a handle scope, the
 * view's buffer looked up: ~0.5k instructions of a hello request under callgrind; bench/README.md,
 * nginx, "Seventh session, second round").
 */
function latin1Value(buf: Buffer, start: number, end: number): string {
  switch (end - start) {
    case 0: return '';
    case 1: return String.fromCharCode(buf[start]!);
    case 2: return String.fromCharCode(buf[start]!, buf[start + 1]!);
    case 3: return String.fromCharCode(buf[start]!, buf[start + 1]!, buf[start + 2]!);
    case 4: return String.fromCharCode(buf[start]!, buf[start + 1]!, buf[start + 2]!, buf[start + 3]!);
    case 5: return String.fromCharCode(buf[start]!, buf[start + 1]!, buf[start + 2]!, buf[start + 3]!, buf[start + 4]!);
    case 6: return String.fromCharCode(buf[start]!, buf[start + 1]!, buf[start + 2]!, buf[start + 3]!, buf[start + 4]!, buf[start + 5]!);
    default: return (buf as Buffer & Latin1Sliceable).latin1Slice(start, end);
  }
}

export class ParamsMemo {
  // Two byte arrays, each with a Float64Array over it: the remembered stream and room for the next
  // one. They swap when a stream is recalled, so the memo always holds the last stream's bytes.
  // Eight bytes are compared at a time as doubles: half the loads of Int32 words (the decode of a
  // recalled hello stream ~315 ns with Int32Array, ~220 with doubles). Doubles compare unequal for
  // equal NaN bits (the bytes are then compared one by one and found equal), and equal for +0 and
  // -0 (so all-zero words are compared by bytes too).
  #bytes = new Uint8Array(MEMO_MAX_BYTES);
  #words = new Float64Array(this.#bytes.buffer);
  #next = new Uint8Array(MEMO_MAX_BYTES);
  #nextWords = new Float64Array(this.#next.buffer);
  /** #length: the remembered stream's byte length; -1 when nothing is remembered. */
  #length = -1;
  /** #lastLength: the length of the last stream asked about; #again: the one before had the same. */
  #lastLength = -1;
  #again = false;
  #limits: ConnectionLimits | null = null;
  #pairs = 0;
  /** Per pair of the remembered stream: where its value's bytes are, and the list index it set. */
  #valueStart = new Int32Array(MEMO_MAX_PAIRS);
  #valueEnd = new Int32Array(MEMO_MAX_PAIRS);
  #slot = new Int32Array(MEMO_MAX_PAIRS);
  /** #wins: 1 when no later pair of the stream set the same index (a duplicate name's last value wins). */
  #wins = new Uint8Array(MEMO_MAX_PAIRS);
  #changed = new Int32Array(MEMO_MAX_PAIRS);
  /** names: the remembered stream's names; shared by every list recalled from it (lists never write them). */
  names: string[] = [];
  #values: string[] = [];

  /**
   * recall: the values of `buf` (in the order of `names`) when it differs from the remembered stream
   * only inside values, decoded under the same limits object (whose checks the remembered stream
   * passed, with the same lengths); else null. The returned array is new: lists share value
   * strings, never a values array.
   */
  recall(buf: Buffer, limits: ConnectionLimits): string[] | null {
    const length = buf.length;
    this.#again = length === this.#lastLength;
    this.#lastLength = length;
    if (length !== this.#length || limits !== this.#limits) return null;
    const next = this.#next;
    const bytes = this.#bytes;
    next.set(buf);
    for (let i = length; (i & 7) !== 0; i++) next[i] = 0; // the remembered copy is zero-padded the same way
    const a = this.#nextWords;
    const b = this.#words;
    const valueStart = this.#valueStart;
    const valueEnd = this.#valueEnd;
    const changed = this.#changed;
    const words = (length + 7) >> 3;
    let pair = 0;
    let count = 0;
    for (let w = 0; w < words; w++) {
      const word = a[w]!;
      if (word === b[w] && word !== 0) continue;
      for (let i = w << 3, stop = i + 8; i < stop; i++) {
        if (next[i] === bytes[i]) continue;
        // i < length (the padding is equal), and the last pair ends at length.
        while (valueEnd[pair]! <= i) pair++;
        if (i < valueStart[pair]!) return null; // a length byte or a name changed
        if (count === 0 || changed[count - 1] !== pair) changed[count++] = pair;
      }
    }
    const values = this.#values.slice();
    const slot = this.#slot;
    const wins = this.#wins;
    for (let k = 0; k < count; k++) {
      const p = changed[k]!;
      if (wins[p] === 1) values[slot[p]!] = latin1Value(buf, valueStart[p]!, valueEnd[p]!);
    }
    this.#next = bytes;
    this.#nextWords = b;
    this.#bytes = next;
    this.#words = a;
    this.#values = values;
    return values;
  }

  /**
   * begin: a full decode of `buf` (just given to recall) starts; false when it is not to be
   * remembered: too long, or not the length of the stream before it.
   */
  begin(buf: Buffer, limits: ConnectionLimits): boolean {
    this.#length = -1;
    const length = buf.length;
    if (length > MEMO_MAX_BYTES || !this.#again) return false;
    const bytes = this.#bytes;
    bytes.set(buf);
    for (let i = length; (i & 7) !== 0; i++) bytes[i] = 0;
    this.#limits = limits;
    this.#pairs = 0;
    return true;
  }

  /** pair: the decode's next pair: its value's bytes and the list index its value went to. */
  pair(valueStart: number, valueEnd: number, slot: number): void {
    const p = this.#pairs++;
    if (p >= MEMO_MAX_PAIRS) return; // end() forgets such a stream
    this.#valueStart[p] = valueStart;
    this.#valueEnd[p] = valueEnd;
    this.#slot[p] = slot;
  }

  /** end: the decode of the stream begun is complete with these lists (which it hands out); true if remembered. */
  end(length: number, names: string[], values: string[]): boolean {
    const pairs = this.#pairs;
    if (pairs > MEMO_MAX_PAIRS || pairs === 0) return false;
    // Which pairs set their index last: walk back, marking indexes seen (#changed as scratch).
    const seen = this.#changed;
    seen.fill(0, 0, names.length);
    for (let p = pairs - 1; p >= 0; p--) {
      const s = this.#slot[p]!;
      this.#wins[p] = seen[s] === 0 ? 1 : 0;
      seen[s] = 1;
    }
    this.names = names;
    this.#values = values;
    this.#length = length;
    return true;
  }

  /** forget: remember nothing (a decode that could not be recorded, or tests). */
  forget(): void {
    this.#length = -1;
  }
}
