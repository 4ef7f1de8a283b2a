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
