/**
 * expandGroup: the reading side of request-group.ts: a grouped `ev: "request"` line back into the
 * events it stands for (records, request.start, request.end), in the order they happened, each
 * with the line it would have had on its own (record-event.ts recordNoteLine, request-events.ts
 * startLine/endLine), so the dashboard, `tail` and `tail --json` see what a line per event would
 * have said. Input is never trusted: a group that is not well formed comes back undefined and
 * the caller shows it as it came.
 */
import type { TraceEvent } from './events';
import { NO_DELTA, pairsJson } from './json-line';
import type { RecordNote } from './notes';
import type { ReadItem } from './reader';
import { recordNoteEvent, recordNoteLine } from './record-event';
import { endLine, startLine } from './request-events';

type Obj = Record<string, unknown>;
type Event = TraceEvent & Obj;

/**
 * ExpandedItem: an event item whose object and line are made when first asked for: the dashboard
 * and pretty `tail` read only `event`, `tail --json` only `line`.
 */
export class ExpandedItem {
  readonly kind = 'event' as const;
  /** built: `line` comes from our own builders: one line, every string escaped (json-line.ts q). */
  readonly built = true as const;
  #toEvent: () => Event;
  #toLine: () => string;
  #event: Event | undefined = undefined;
  #line: string | undefined = undefined;

  constructor(toEvent: () => Event, toLine: () => string) {
    this.#toEvent = toEvent;
    this.#toLine = toLine;
  }

  get event(): Event {
    return (this.#event ??= this.#toEvent());
  }

  /** line: without its newline, like the lines NdjsonReader hands on. */
  get line(): string {
    return (this.#line ??= this.#toLine());
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
/** NAME: role and protocol status names go into a msg unescaped on our side; anything else is not ours. */
const NAME = /^[A-Za-z0-9_]{0,40}$/;

function isPairs(v: unknown): v is Array<[string, string]> {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && isStr(p[0]) && isStr(p[1]));
}

const never = (): boolean => false;

/** Group: the fields every expanded event takes from its line. */
interface Group {
  time: number;
  pid: number;
  mode: string;
  msg: string;
  rid: string;
  requestId: number;
  conn: number | undefined;
}

function recordOf(g: Group, t: unknown): RecordNote | undefined {
  if (!Array.isArray(t) || t.length < 5 || t.length > 7 || g.conn === undefined) return undefined;
  const [time, dir, type, contentLength, paddingLength, num = -1, text = ''] = t as unknown[];
  if (!isNum(time) || (dir !== 'in' && dir !== 'out') || !isInt(type) || type > 255 || !isInt(contentLength) || !isInt(paddingLength)
    || !Number.isInteger(num) || !isStr(text) || !NAME.test(text)) return undefined;
  return {
    note: 'record', time, pid: g.pid, mode: g.mode, conn: g.conn, dir, type, requestId: g.requestId, contentLength, paddingLength,
    rid: g.rid, num: num as number, text,
  };
}

function startItem(g: Group, s: Obj, params: unknown): ExpandedItem | undefined {
  const { time, method, uri, url, mountPoint, role } = s;
  if (!isNum(time) || !isStr(method) || !isStr(uri) || !isStr(url) || !isStr(mountPoint) || !isStr(role) || !isPairs(params)) return undefined;
  const fields = { pid: g.pid, mode: g.mode, rid: g.rid, requestId: g.requestId, time, method, uri, url, mountPoint, role };
  return new ExpandedItem(
    () => ({ level: 30, ev: 'request.start', msg: `${method} ${uri}`, ...fields, params }) as unknown as Event,
    () => startLine({ note: 'start', ...fields, paramsJson: pairsJson(params, never, ''), paramsBase: undefined, paramsDelta: NO_DELTA }),
  );
}

function endItem(g: Group, e: Obj, start: Obj | undefined, headers: unknown): ExpandedItem | undefined {
  const { time, level, status, bytesIn, bytesOut, durationMs, aborted } = e;
  const method = start?.['method'] ?? e['method'];
  const uri = start?.['uri'] ?? e['uri'];
  if (!isNum(time) || !isInt(level) || !isNum(status) || !isPairs(headers) || !isNum(bytesIn) || !isNum(bytesOut) || !isNum(durationMs)
    || typeof aborted !== 'boolean' || !isStr(method) || !isStr(uri)) return undefined;
  const fields = {
    pid: g.pid, mode: g.mode, rid: g.rid, requestId: g.requestId, time, level, msg: g.msg, method, uri, status, bytesIn, bytesOut,
    durationMs, aborted,
  };
  return new ExpandedItem(
    () => ({ ...fields, ev: 'request.end', headers, appStatus: 0 }) as unknown as Event,
    () => endLine({ note: 'end', ...fields, headersJson: pairsJson(headers, never, '') }),
  );
}

/**
 * ParamsBaseRef: the params base a connection was last sent (request-group.ts paramsText), as the
 * text of its list (a reader that cut it from the line's bytes) or as pairs (a parsed line); read
 * into pairs once, when a delta is first applied to it. Shared by every line that uses it.
 */
export class ParamsBaseRef {
  #text: string | undefined;
  #pairs: Array<[string, string]> | null | undefined;

  private constructor(text: string | undefined, pairs: Array<[string, string]> | undefined) {
    this.#text = text;
    this.#pairs = pairs;
  }

  static ofText(text: string): ParamsBaseRef {
    return new ParamsBaseRef(text, undefined);
  }

  static ofPairs(pairs: Array<[string, string]>): ParamsBaseRef {
    return new ParamsBaseRef(undefined, pairs);
  }

  /** pairs: the base's pairs; undefined when its text is not a list of pairs. */
  pairs(): Array<[string, string]> | undefined {
    if (this.#pairs === undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(this.#text ?? '');
      } catch {
        parsed = undefined;
      }
      this.#pairs = isPairs(parsed) ? parsed : null;
      this.#text = undefined;
    }
    return this.#pairs ?? undefined;
  }
}

/** ParamsState: a reader's params base for one connection; expanding a line with `paramsBase` replaces it. */
export interface ParamsState {
  base: ParamsBaseRef | undefined;
}

/**
 * applyDelta: `base` with the values of `delta` (`[[index,"value"],...]`) put in at their positions;
 * undefined when the delta does not fit the base.
 */
export function applyDelta(base: Array<[string, string]>, delta: unknown): Array<[string, string]> | undefined {
  if (!Array.isArray(delta)) return undefined;
  const out = base.slice();
  for (const d of delta) {
    if (!Array.isArray(d) || d.length !== 2) return undefined;
    const [i, value] = d as unknown[];
    if (!isInt(i) || i >= out.length || !isStr(value)) return undefined;
    out[i] = [out[i]![0], value];
  }
  return out;
}

/**
 * paramsOf: a grouped line's params: its `params`, or its `paramsDelta` applied to its own
 * `paramsBase` or, without one, to the connection's (`state`). A `paramsBase` becomes the
 * connection's. undefined when there is none to apply it to (a reader never sent one: the line is
 * then shown as it came).
 */
function paramsOf(ev: Obj, start: Obj | undefined, state: ParamsState | undefined): unknown {
  const full = start?.['params'] ?? ev['params'];
  if (full !== undefined) return full;
  const own = ev['paramsBase'];
  let base: Array<[string, string]> | undefined;
  if (own !== undefined) {
    if (!isPairs(own)) return undefined;
    base = own;
  } else base = state?.base?.pairs();
  return base === undefined ? undefined : applyDelta(base, ev['paramsDelta']);
}

const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Obj : undefined);

/**
 * expandGroup: the items of a grouped line's events, in order; undefined when it is not well
 * formed. `state`: the connection's params base, for a line with a delta; one the line brings
 * (`paramsBase`) is kept there for the lines after it, even when the rest of the line is not well formed.
 */
export function expandGroup(ev: Obj, state?: ParamsState): ReadItem[] | undefined {
  const own = ev['paramsBase'];
  if (state !== undefined && own !== undefined) state.base = isPairs(own) ? ParamsBaseRef.ofPairs(own) : undefined;
  const { time, pid, mode, msg, rid, requestId, conn, records = [] } = ev;
  if (!isNum(time) || !isInt(pid) || !isStr(mode) || !isStr(msg) || !isStr(rid) || !isInt(requestId) || (conn !== undefined && !isInt(conn))
    || !Array.isArray(records)) return undefined;
  const g: Group = { time, pid, mode, msg, rid, requestId, conn };
  const start = obj(ev['start']);
  const end = obj(ev['end']);
  if ((ev['start'] !== undefined && start === undefined) || (ev['end'] !== undefined && end === undefined)) return undefined;
  // The lists come last in the line (request-group.ts); a line of an older dualcgi had them in start and end.
  const params = start !== undefined ? paramsOf(ev, start, state) : undefined;
  const headers = end?.['headers'] ?? ev['headers'];
  const inserts: Array<[number, ExpandedItem]> = [];
  for (const [part, make] of [[start, (gr: Group, s: Obj) => startItem(gr, s, params)],
    [end, (gr: Group, e: Obj) => endItem(gr, e, start, headers)]] as const) {
    if (part === undefined) continue;
    const item = make(g, part);
    const at = part['at'];
    if (item === undefined || !isInt(at) || at > records.length) return undefined;
    inserts.push([at, item]);
  }
  const items: ReadItem[] = [];
  for (let i = 0; i <= records.length; i++) {
    for (const [at, item] of inserts) if (at === i) items.push(item);
    if (i === records.length) break;
    const note = recordOf(g, records[i]);
    if (note === undefined) return undefined;
    items.push(new ExpandedItem(() => recordNoteEvent(note) as unknown as Event, () => recordNoteLine(note)));
  }
  return items;
}
