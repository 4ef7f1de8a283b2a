/**
 * scanGroup: a grouped `ev: "request"` line's summary (request-group.ts), read from the head of
 * the line by a scan instead of JSON.parse, for the dashboard: it lists every request but opens
 * one. The keys must come exactly in the order request-group.ts writes them, every string must be
 * plain (no escapes, no control characters) and every number a JSON number, or the scan gives up
 * (undefined) and the caller reads the line the usual way (reader.ts). The lists at the end
 * (records, params, headers) are not read here: only the records are counted. Whoever keeps the
 * summary keeps the line too, and reads the rest (JSON.parse and group-expand.ts, which check
 * everything) when it is asked for.
 *
 * Why: in the profile of `dualcgi dashboard` at ~20k traced hello req/s, JSON.parse of the
 * grouped lines was 19% of its CPU and garbage collection 27%, most of that the parsed lines and
 * the events expanded from them; the dashboard spent ~38 µs per request (bench/ trace suite,
 * `listener µs/req`). This reads the ~250 characters of the head and allocates the summary and
 * the strings it keeps.
 */

import type { ParamsBaseRef } from './group-expand';
import type { ReadItem } from './reader';

/** GroupSummary: a grouped line's fields of fixed size (request-group.ts), and its record count. */
export interface GroupSummary {
  level: number;
  time: number;
  pid: number;
  mode: string;
  msg: string;
  rid: string;
  /** conn: -1 when the line has no records (and so no connection). */
  conn: number;
  requestId: number;
  /** records: how many records the line carries. */
  records: number;
  hasStart: boolean;
  startAt: number;
  startTime: number;
  /** method, uri: from start, or from end when the line has no start; '' when it has neither. */
  method: string;
  uri: string;
  url: string;
  mountPoint: string;
  role: string;
  hasEnd: boolean;
  endAt: number;
  endTime: number;
  endLevel: number;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  aborted: boolean;
}

/** GroupItem: what a reader asked for summaries hands on for a grouped line it could scan. */
export interface GroupItem {
  kind: 'group';
  group: GroupSummary;
  /**
   * bytes: the whole line (trimmed, without its newline) as UTF-8, as it came: a view into the
   * chunk given to the reader (or a buffer of the reader's own), as long-lived as that chunk is
   * left alone (a socket's reads are never reused). Copy it to keep it: a view keeps the whole
   * chunk alive. Not decoded: the summary was read from the line's start alone (reader.ts).
   */
  bytes: Buffer;
  /** paramsBase: the connection's params base as of this line, for a line whose params are a delta (request-group.ts paramsText). */
  paramsBase: ParamsBaseRef | undefined;
  /**
   * expand: the request's events, made when called; set for a request decoded from wire frames
   * (wire-decode.ts), whose `bytes` are then empty.
   */
  expand?: () => ReadItem[];
}

// The head of a grouped line, as request-group.ts writes it (keys in that order). STR: a JSON string
// without escapes or control characters; NUM: a JSON number; INT: a non-negative integer as JSON
// writes it (no leading zeros), at most 15 digits. One regular expression rather than a scan by
// hand: ~1.3 µs a line against ~3 µs for a charCodeAt/startsWith scan of the same fields, and
// ~7 µs for JSON.parse of the whole line (microbenchmark over 50,000 captured hello lines).
const STR = '"([^"\\\\\\u0000-\\u001f]*)"';
const NUM = '(-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)';
const INT = '(0|[1-9]\\d{0,14})';
const HEAD = new RegExp(`^\\{"level":${INT},"time":${NUM},"pid":${INT},"ev":"request","mode":${STR},"msg":${STR},"rid":${STR}`
  + `(?:,"conn":${INT})?,"requestId":${INT}`
  + `(?:,"start":\\{"at":${INT},"time":${NUM},"method":${STR},"uri":${STR},"url":${STR},"mountPoint":${STR},"role":${STR}\\})?`
  + `(?:,"end":\\{"at":${INT},"time":${NUM},"level":${INT}(?:,"method":${STR},"uri":${STR})?,"status":${NUM},"bytesIn":${NUM}`
  + `,"bytesOut":${NUM},"durationMs":${NUM},"aborted":(true|false)\\})?`);

const RECORDS = ',"records":[[';

/**
 * PARAMS_LIST, HEADERS_LIST: the lists a grouped line's head is followed by (when it has a start;
 * an end without one). PARAMS_LIST is the start of the three ways params come (`"params"`,
 * `"paramsBase"`, `"paramsDelta"`; request-group.ts paramsText).
 */
export const PARAMS_LIST = ',"params';
export const HEADERS_LIST = ',"headers":[';

/**
 * scanGroup: the summary of a grouped line (trimmed, no newline), or undefined (see the file
 * comment). With `cutBefore`, `line` is only the line's start, cut where that list begins (the
 * caller has seen that the whole line ends like an object): a reader need not decode the lists
 * (NdjsonReader, summaries).
 */
export function scanGroup(line: string, cutBefore?: typeof PARAMS_LIST | typeof HEADERS_LIST): GroupSummary | undefined {
  const m = HEAD.exec(line);
  if (m === null) return undefined;
  const hasStart = m[9] !== undefined;
  const hasEnd = m[16] !== undefined;
  // end names the method and uri only when the line has no start (request-group.ts).
  if (hasStart && m[19] !== undefined) return undefined;
  let at = m[0].length;
  let records = 0;
  if (line.startsWith(RECORDS, at)) {
    // Counted, not read: `[[...],[...]]` ends at the first `]]` (a record holds numbers and plain names).
    const end = line.indexOf(']]', at);
    if (end === -1) return undefined;
    records = 1;
    for (let i = line.indexOf('],[', at); i !== -1 && i < end; i = line.indexOf('],[', i + 3)) records++;
    at = end + 2;
  }
  const conn = m[7] === undefined ? -1 : +m[7];
  const startAt = hasStart ? +m[9]! : 0;
  const endAt = hasEnd ? +m[16]! : 0;
  // What follows is read when asked for; here only: the list that comes next is the one expected
  // (so no optional part above was skipped for not matching), a line that ends like an object,
  // records that need a connection have one, and no event placed past the records
  // (group-expand.ts checks the same).
  const next = hasStart ? PARAMS_LIST : hasEnd ? HEADERS_LIST : '}';
  if (cutBefore !== undefined ? next !== cutBefore || at !== line.length : !line.startsWith(next, at) || line.charCodeAt(line.length - 1) !== 125) {
    return undefined;
  }
  if ((records > 0 && conn < 0) || startAt > records || endAt > records) return undefined;
  return {
    level: +m[1]!, time: +m[2]!, pid: +m[3]!, mode: m[4]!, msg: m[5]!, rid: m[6]!, conn, requestId: +m[8]!, records,
    hasStart, startAt, startTime: hasStart ? +m[10]! : 0,
    method: hasStart ? m[11]! : m[19] ?? '', uri: hasStart ? m[12]! : m[20] ?? '',
    url: m[13] ?? '', mountPoint: m[14] ?? '', role: m[15] ?? '',
    hasEnd, endAt, endTime: hasEnd ? +m[17]! : 0, endLevel: hasEnd ? +m[18]! : 0, status: hasEnd ? +m[21]! : 0,
    bytesIn: hasEnd ? +m[22]! : 0, bytesOut: hasEnd ? +m[23]! : 0, durationMs: hasEnd ? +m[24]! : 0, aborted: m[25] === 'true',
  };
}
