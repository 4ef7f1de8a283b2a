import type { ParamLookup, Params } from '../cgi/params';
import { forEachPair, type Latin1Sliceable, pairLength, pairTruncated } from '../protocol/pairs';
import { ConnectionError } from './errors';
import type { ConnectionLimits } from './limits';
import { ParamsMemo } from './param-memo';

/**
 * ParamList: one request's PARAMS as two arrays, names and values in the order they came; the
 * `Params` Map is built only when someone asks for it (`toMap`: `exchange.params`, tracing).
 *
 * Speed (micro.js fcgi, nginx's 24 params of a hello request): decoding the PARAMS into a Map cost
 * ~1.4 us per request (a Map grown four times, every name sliced out and hashed afresh) against
 * ~0.15 us for walking the pairs; the Map and the names were 3.3 KB of the 6.1 KB a raw FastCGI
 * request allocated. Here names come from a small cache (NAME_CACHE: no string made for a name seen
 * before), and `get` is a scan of at most a few dozen names compared by pointer (cached names are
 * internalized, like the literals callers pass).
 */
export class ParamList implements ParamLookup {
  /** names: each name once, where it first came; values: each name's last value (Map semantics). */
  readonly names: string[];
  readonly values: string[];
  /**
   * remembered: this stream is the one param-memo.ts holds (decoded in full and kept, or recalled):
   * the next request's list may share its names and values. The head mapping keeps its head
   * only for such a list (handlers/head-memo.ts).
   */
  readonly remembered: boolean;
  #map: Params | null = null;

  constructor(names: string[], values: string[], remembered = false) {
    this.names = names;
    this.values = values;
    this.remembered = remembered;
  }

  /** get: the value of `name` (the last duplicate's, as in the Map). */
  get(name: string): string | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.values[i];
    return undefined;
  }

  /** forEach: each name once, where it first came, with its last value: the Map's order. */
  forEach(fn: (value: string, name: string) => void): void {
    const { names, values } = this;
    for (let i = 0; i < names.length; i++) fn(values[i]!, names[i]!);
  }

  /** toMap: the params as a Map (built once). */
  toMap(): Params {
    if (this.#map !== null) return this.#map;
    const map: Params = new Map();
    const { names, values } = this;
    for (let i = 0; i < names.length; i++) map.set(names[i]!, values[i]!);
    return (this.#map = map);
  }
}

/**
 * NAME_CACHE: param names seen before, internalized, in a 2-way table indexed by a hash of the
 * name's length and three of its characters. A name is found with `startsWith` at its offset in the
 * decoded text, so a name seen before costs no string. Names longer than NAME_CACHE_MAX_LENGTH
 * are not kept (they are client-chosen header names), and the table does not grow.
 */
const NAME_CACHE_SIZE = 512;
const NAME_CACHE_MAX_LENGTH = 64;
const nameCache: Array<string | undefined> = new Array<string | undefined>(NAME_CACHE_SIZE).fill(undefined);
/**
 * stamps, firstIndex: per cache slot, the decode that last met its name and where in that decode's
 * list the name is: a duplicate is found without a set, and its value goes to the first place.
 */
const stamps = new Int32Array(NAME_CACHE_SIZE);
const firstIndex = new Int32Array(NAME_CACHE_SIZE);
/** decodeStamp: this decode's number (wraps; a stale match only makes `duplicates` true, which is safe). */
let decodeStamp = 0;

/** memo: the last stream decoded in full (param-memo.ts). */
const memo = new ParamsMemo();

/** sizeHint: how many names the last stream had (the next one is sized for it). */
let sizeHint = 32;

/** WHOLE_TEXT_LIMIT: larger streams go through forEachPair and a Map (see protocol/pairs.ts). */
const WHOLE_TEXT_LIMIT = 1 << 20;

function nameSlot(buf: Buffer, at: number, length: number): number {
  const h = length * 31 + buf[at]! * 7 + buf[at + length - 1]! * 13 + buf[at + (length >> 1)]! * 3;
  return (h ^ (h >>> 7)) & (NAME_CACHE_SIZE - 2); // even slot; its pair is slot + 1
}

/**
 * nameBytes: each cached name's bytes, NAME_CACHE_MAX_LENGTH bytes per slot; nameWords: the same
 * memory as little-endian 32-bit words. A name is checked four bytes at a time against them, not
 * char by char against the cached string: comparing nginx's 24 names with charCodeAt was half of
 * decodeParamList (decodeParamList alone on nginx's hello PARAMS, 1M decodes: 1.02 -> 0.70 us).
 * A DataView per decode was no faster: making it cost what its loads saved.
 */
const nameBytes = new Uint8Array(NAME_CACHE_SIZE * NAME_CACHE_MAX_LENGTH);
const nameWords = new Int32Array(nameBytes.buffer);
/** WORDS: the words are read in the platform's order; the packing below is little-endian's (else bytes only). */
const WORDS = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** sameBytes: the cached name of `slot`, `length` bytes, is at `at` in `buf`; lengths are checked by the caller. */
function sameBytes(buf: Buffer, at: number, length: number, slot: number): boolean {
  const base = slot * NAME_CACHE_MAX_LENGTH;
  let i = 0;
  for (let w = base >> 2; WORDS && i + 4 <= length; i += 4, w++) {
    if ((buf[at + i]! | (buf[at + i + 1]! << 8) | (buf[at + i + 2]! << 16) | (buf[at + i + 3]! << 24)) !== nameWords[w]) return false;
  }
  for (; i < length; i++) if (buf[at + i] !== nameBytes[base + i]) return false;
  return true;
}

/** intern: the internalized copy of `s` (V8 internalizes property keys). */
function intern(s: string): string {
  const holder: Record<string, number> = { [s]: 0 };
  for (const key in holder) return key;
  return s;
}

/**
 * decodeParamList: a complete PARAMS stream to a ParamList, checking count and sizes as it goes
 * (FCGI_ERR_PARAMS_LIMIT), as cgi/params' rules have it: the last duplicate wins.
 * Throws FCGI_ERR_TRUNCATED_PAIR (ProtocolError) for bytes that end inside a pair.
 */
export function decodeParamList(buf: Buffer, limits: ConnectionLimits): ParamList {
  // The last stream again but for some values (nginx: REMOTE_PORT): param-memo.ts.
  const recalled = memo.recall(buf, limits);
  if (recalled !== null) return new ParamList(memo.names, recalled, true);
  const end = buf.length;
  if (end > WHOLE_TEXT_LIMIT) {
    memo.forget();
    const names: string[] = [];
    const values: string[] = [];
    let count = 0;
    forEachPair(buf, (name, value) => {
      check(count++, name.length, value.length, name, limits);
      add(names, values, name, value);
    });
    return new ParamList(names, values);
  }
  const text = (buf as Buffer & Latin1Sliceable).latin1Slice(0, end);
  // Sized for the last stream's count: grown from empty, the two arrays were reallocated twice
  // each (V8 grows 0 -> 17 -> 41), 1 KB of the 2 KB a decode allocated (heap profile, micro.js).
  let names = new Array<string>(sizeHint);
  let values = new Array<string>(sizeHint);
  let n = 0;
  const stamp = (decodeStamp = (decodeStamp + 1) | 0);
  /** unsure: a name of this stream lost its cache slot; duplicates are then merged at the end. */
  let unsure = false;
  let count = 0;
  let offset = 0;
  const remember = memo.begin(buf, limits);
  while (offset < end) {
    const nameLength = pairLength(buf, offset, end, 'name length');
    offset += buf[offset]! > 127 ? 4 : 1;
    const valueLength = pairLength(buf, offset, end, 'value length');
    offset += buf[offset]! > 127 ? 4 : 1;
    const nameEnd = offset + nameLength;
    const valueEnd = nameEnd + valueLength;
    if (valueEnd > end) throw pairTruncated(offset, 'name or value bytes');
    check(count++, nameLength, valueLength, text, limits, offset);
    const value = text.slice(nameEnd, valueEnd);
    if (nameLength === 0 || nameLength > NAME_CACHE_MAX_LENGTH) {
      // Not cached (rare names): a duplicate is looked for by hand.
      const name = text.slice(offset, nameEnd);
      let at = -1;
      for (let j = 0; j < n; j++) if (names[j] === name) at = j;
      if (at === -1) {
        if (n === names.length) {
          names = grown(names);
          values = grown(values);
        }
        at = n;
        names[n] = name;
        values[n++] = value;
      } else {
        values[at] = value;
      }
      if (remember) memo.pair(nameEnd, valueEnd, at);
      offset = valueEnd;
      continue;
    }
    let slot = nameSlot(buf, offset, nameLength);
    let cached = nameCache[slot];
    if (cached === undefined || cached.length !== nameLength || !sameBytes(buf, offset, nameLength, slot)) {
      cached = nameCache[slot + 1];
      if (cached !== undefined && cached.length === nameLength && sameBytes(buf, offset, nameLength, slot + 1)) {
        slot += 1;
      } else {
        // A miss: the name is made once and takes the pair's first way; the entry there moves to
        // the second, and the one there goes (if it was met in this stream, its duplicates could
        // go unseen: merged at the end).
        cached = intern(text.slice(offset, nameEnd));
        if (nameCache[slot] !== undefined) {
          if (nameCache[slot + 1] !== undefined && stamps[slot + 1] === stamp) unsure = true;
          nameCache[slot + 1] = nameCache[slot];
          nameBytes.copyWithin((slot + 1) * NAME_CACHE_MAX_LENGTH, slot * NAME_CACHE_MAX_LENGTH, (slot + 1) * NAME_CACHE_MAX_LENGTH);
          stamps[slot + 1] = stamps[slot]!;
          firstIndex[slot + 1] = firstIndex[slot]!;
        }
        nameCache[slot] = cached;
        nameBytes.set(buf.subarray(offset, nameEnd), slot * NAME_CACHE_MAX_LENGTH);
        stamps[slot] = 0;
      }
    }
    if (stamps[slot] === stamp) {
      values[firstIndex[slot]!] = value; // a duplicate: the last value wins, in the first place
      if (remember) memo.pair(nameEnd, valueEnd, firstIndex[slot]!);
    } else {
      stamps[slot] = stamp;
      firstIndex[slot] = n;
      if (n === names.length) {
        names = grown(names);
        values = grown(values);
      }
      if (remember) memo.pair(nameEnd, valueEnd, n);
      names[n] = cached;
      values[n++] = value;
    }
    offset = valueEnd;
  }
  if (n !== names.length) {
    names.length = n;
    values.length = n;
  }
  sizeHint = n > 8 ? n : 8;
  if (unsure) return merged(names, values); // not remembered: begin() forgot the last stream
  return new ParamList(names, values, remember && memo.end(end, names, values));
}

/**
 * grown: `list` copied into an array twice its size. Stores past an array's length (a stream with
 * more params than the last one: a POST after a GET brings CONTENT_TYPE's HTTP_ twin and more)
 * deoptimized decodeParamList ("out of bounds"), and V8's next code for it stored in grow mode:
 * a hello decode took 700 -> 970 ns for the rest of the process's life once one longer stream had
 * come (decodeParamList alone, nginx's hello and POST PARAMS). The stores here and there stay in bounds.
 */
function grown(list: string[]): string[] {
  const out = new Array<string>(list.length * 2 + 8);
  for (let i = 0; i < list.length; i++) out[i] = list[i]!;
  return out;
}

/** add: a pair to the lists, a duplicate name's value replacing the first one's. */
function add(names: string[], values: string[], name: string, value: string): void {
  const at = names.indexOf(name);
  if (at === -1) {
    names.push(name);
    values.push(value);
  } else {
    values[at] = value;
  }
}

/** merged: the lists with duplicate names merged (the slow way, for the rare stream that needs it). */
function merged(names: string[], values: string[]): ParamList {
  const outNames: string[] = [];
  const outValues: string[] = [];
  for (let i = 0; i < names.length; i++) add(outNames, outValues, names[i]!, values[i]!);
  return new ParamList(outNames, outValues);
}

/** check: the limits on the pair about to be added (count so far, its name and value lengths). */
function check(count: number, nameLength: number, valueLength: number, text: string, limits: ConnectionLimits,
  offset = 0): void {
  if (count + 1 > limits.maxParams) {
    throw new ConnectionError('FCGI_ERR_PARAMS_LIMIT', `more than ${limits.maxParams} params`, 431);
  }
  if (nameLength > limits.maxNameBytes || valueLength > limits.maxValueBytes) {
    const name = text.slice(offset, offset + Math.min(nameLength, 40));
    throw new ConnectionError('FCGI_ERR_PARAMS_LIMIT', `param ${JSON.stringify(name)} is too long`, 431);
  }
}
