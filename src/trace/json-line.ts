/**
 * Hand-written NDJSON for the hot trace events (records, request.start, request.end): a hello
 * request makes about ten of them, and building an object per event and JSON.stringify-ing it
 * (with the sink's write of the result) was about half of a traced request's CPU (bench/ trace
 * suite, `hello-cpu` group). Fixed fields are written as they are (numbers, and names from our own
 * tables, which need no escaping); every free-text string (params, URIs, header values, rids)
 * goes through JSON.stringify, so the line is always valid JSON whatever the bytes.
 */

/** Characters a JSON string must escape, or that JSON.stringify treats specially (lone surrogates); anything past ASCII goes the slow way too. */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/**
 * q: a JSON string literal of any text. Printable ASCII without quotes or backslashes (nearly every
 * param, URI and header) is quoted as it is; anything else goes through JSON.stringify. Half the
 * cost of calling JSON.stringify on each of a request's ~45 strings (microbenchmark of a hello
 * request's params; bench/ trace suite `hello-cpu` group for the whole).
 */
export function q(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * lineHead: `{"level":L,"time":T,"pid":P,"ev":"E","mode":"M"` without the closing brace. `ev` is
 * one of our own kind names (no escaping); the mode is quoted, since an expanded line's mode comes
 * from the wire.
 */
export function lineHead(level: number, time: number, pid: number, ev: string, mode: string): string {
  return `{"level":${level},"time":${time},"pid":${pid},"ev":"${ev}","mode":${q(mode)}`;
}

/**
 * pidEvMode: a function giving `,"pid":P,"ev":"E","mode":"M"` for a pid and mode, the text kept
 * while they stay the same (one producer's lines come together: one pid, in practice one mode).
 * One per kind of line (`ev` is one of our own names: no escaping).
 */
export function pidEvMode(ev: string): (pid: number, mode: string) => string {
  let lastPid = -1;
  let lastMode = '';
  let last = '';
  return (pid, mode) => {
    if (pid !== lastPid || mode !== lastMode) {
      lastPid = pid;
      lastMode = mode;
      last = `,"pid":${pid},"ev":"${ev}","mode":${q(mode)}`;
    }
    return last;
  };
}

/** A pair's JSON, kept while its value stays the same (most CGI params repeat on every request). */
interface CachedPair {
  value: string;
  json: string;
}

const pairCache = new Map<string, CachedPair>();
/** Bounds: names remembered, and the longest value remembered (a long cookie-like header is not worth keeping). */
const PAIR_CACHE_MAX = 512;
const PAIR_VALUE_MAX = 1024;

/**
 * pairsJson: `[["name","value"],...]`, with the values of `secret` names replaced by `redacted`.
 * Each pair's JSON is remembered by name and reused while the value is the same: about 15 of a
 * hello request's 21 nginx params never change, and quoting them, then joining their pieces, was
 * the largest part of building the request's lines (bench/ trace suite, `hello-cpu` group). The
 * pieces are joined once, into a flat string.
 */
export function pairsJson(pairs: Iterable<readonly [string, string]>, secret: (name: string) => boolean, redacted: string): string {
  const parts: string[] = [];
  for (const [name, value] of pairs) {
    if (secret(name)) {
      parts.push(`[${q(name)},${redacted}]`);
      continue;
    }
    const cached = pairCache.get(name);
    if (cached !== undefined && cached.value === value) {
      parts.push(cached.json);
      continue;
    }
    const json = `[${q(name)},${q(value)}]`;
    if (value.length > PAIR_VALUE_MAX) {
      parts.push(json);
      continue;
    }
    if (cached !== undefined) {
      cached.value = value;
      cached.json = json;
    } else {
      if (pairCache.size >= PAIR_CACHE_MAX) pairCache.clear();
      pairCache.set(name, { value, json });
    }
    parts.push(json);
  }
  return `[${parts.join(',')}]`;
}

/**
 * ParamsBase: a ParamsJson base as it goes on the wire: its pairs' JSON. One object per base, so a
 * sink tells bases apart by reference (request-group.ts ParamsWire).
 */
export interface ParamsBase {
  readonly text: string;
}

/** NO_DELTA: the delta of params equal to their base's. */
export const NO_DELTA = '[]';

/** ParamsSource: what params are read from: a Params Map, or FastCGI's ParamList (cgi/params.ts ParamLookup). */
export interface ParamsSource {
  forEach(fn: (value: string, name: string) => void): void;
}

/**
 * ParamsJson: `[["name","value"],...]` of one request's params (pairsJson's text), built from the
 * previous request's JSON where it can be: a request whose names are the base's, in the same
 * order, reuses the base's text between the values that differ (slices, not copies) and quotes only
 * those. Behind nginx a hello request's 21 params differ from the last one's in REMOTE_PORT alone,
 * so its JSON is two slices and one quoted value instead of 21 pairs joined; and tracing no longer
 * builds the params Map (FastCGI hands its params without one: fastcgi/param-list.ts). What it
 * buys: 12.0 -> 8.4 µs of one traced hello request's trace work (a microbenchmark of seven records,
 * traceRequest and finish into the socket sink; bench/README "Fourth round"), and the bench/ trace
 * suite's `hello-cpu` group. A request with other names, or more than half of its values changed,
 * becomes the new base.
 *
 * Each build also leaves `base` (the base it was built from) and `delta`: the values that differ
 * from the base's, `[[index,"value"],...]` by position in the base (`[]` when none), which the
 * socket sink writes instead of the whole list once a listener has the base (request-group.ts).
 *
 * Secret values (`secret(name)`) never enter the text: they are `redacted` in the base, and a
 * secret's own value is never compared or quoted (so never in a delta either).
 */
export class ParamsJson {
  #secret: (name: string) => boolean;
  #redacted: string;
  /** The base: its names, values (secrets as given: only compared), text, and where each value's literal starts and ends in it. */
  #names: string[] = [];
  #values: string[] = [];
  #text = '[]';
  #base: ParamsBase = { text: '[]' };
  #delta = NO_DELTA;
  #from: number[] = [];
  #to: number[] = [];
  /**
   * This build's state (read by #visit, a bound method: no closure per request). The diff lists
   * are reused, counted by #n (`length = 0` would free their storage, and every request grow it again).
   */
  #i = 0;
  #same = true;
  #n = 0;
  #diffs: number[] = [];
  #diffValues: string[] = [];

  constructor(secret: (name: string) => boolean, redacted: string) {
    this.#secret = secret;
    this.#redacted = redacted;
  }

  /** base: the base of the last build. */
  get base(): ParamsBase {
    return this.#base;
  }

  /** delta: the last build's values that differ from its base's (`[[index,"value"],...]`). */
  get delta(): string {
    return this.#delta;
  }

  /** build: the params' JSON. */
  build(params: ParamsSource): string {
    this.#i = 0;
    this.#same = true;
    this.#n = 0;
    params.forEach(this.#visit);
    const n = this.#i;
    if (this.#same && n === this.#names.length && this.#n * 2 <= n) return this.#splice();
    return this.#rebase(params);
  }

  #visit = (value: string, name: string): void => {
    if (!this.#same) return;
    const i = this.#i++;
    if (i >= this.#names.length || this.#names[i] !== name) {
      this.#same = false;
      return;
    }
    if (this.#values[i] !== value && !this.#secret(name)) {
      this.#diffs[this.#n] = i;
      this.#diffValues[this.#n++] = value;
    }
  };

  /** #splice: the base's text with the differing values replaced. */
  #splice(): string {
    const diffs = this.#diffs;
    const n = this.#n;
    if (n === 0) {
      this.#delta = NO_DELTA;
      return this.#text;
    }
    const text = this.#text;
    let out = '';
    let delta = '[';
    let at = 0;
    for (let k = 0; k < n; k++) {
      const i = diffs[k]!;
      const value = q(this.#diffValues[k]!);
      out += `${text.slice(at, this.#from[i])}${value}`;
      delta += `${k > 0 ? ',' : ''}[${i},${value}]`;
      at = this.#to[i]!;
    }
    this.#delta = `${delta}]`;
    return out + text.slice(at);
  }

  /** #rebase: this request's params, in full, as the new base. */
  #rebase(params: ParamsSource): string {
    const names: string[] = [];
    const values: string[] = [];
    params.forEach((value, name) => {
      names.push(name);
      values.push(value);
    });
    const from: number[] = [];
    const to: number[] = [];
    let text = '[';
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      text += `${i > 0 ? ',' : ''}[${q(name)},`;
      from.push(text.length);
      text += this.#secret(name) ? this.#redacted : q(values[i]!);
      to.push(text.length);
      text += ']';
    }
    text += ']';
    // A rope of its pieces: the first slice flattens it (in place, once), later ones share its bytes.
    this.#text = text;
    this.#base = { text };
    this.#delta = NO_DELTA;
    this.#names = names;
    this.#values = values;
    this.#from = from;
    this.#to = to;
    return this.#text;
  }
}

