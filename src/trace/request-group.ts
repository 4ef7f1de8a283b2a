/**
 * The grouped line: what the socket sink writes for one request's notes (notes.ts) of one event
 * loop turn, instead of a line per event. A hello request's nine events (seven records,
 * request.start, request.end) all happen in one turn, so it becomes one line:
 *
 *   {"level":30,"time":T,"pid":P,"ev":"request","mode":"fcgi","msg":"GET / 200 0.3ms","rid":"P-1",
 *    "conn":1,"requestId":1,
 *    "start":{"at":3,"time":T,"method":"GET","uri":"/","url":"/","mountPoint":"","role":"RESPONDER"},
 *    "end":{"at":5,"time":T,"level":30,"status":200,"bytesIn":0,"bytesOut":14,"durationMs":0.3,"aborted":false},
 *    "records":[[T,"in",1,8,0,1,"RESPONDER"],[T,"in",4,610,6,21],[T,"in",4,0,0],...],
 *    "params":[["QUERY_STRING",""],...],"headers":[["Content-Type","text/plain"],...]}
 *
 * From the socket sink the params usually come as a change from a base instead of `params`:
 * `"paramsBase":[[name,value],...],"paramsDelta":[[index,"value"],...]` on the first line that
 * uses a base on a connection, then `"paramsDelta":[...]` alone (paramsText below): the request's
 * params are the base's with the values at those positions replaced. A reader keeps each
 * connection's last base (NdjsonReader); `tail --json` and the dashboard show the whole list.
 *
 * Everything of fixed size comes first, in this order, and the three lists last (`params` belong to
 * `start`, `headers` to `end`): the dashboard reads a request's summary (its list row, its stats)
 * from the head of the line with a scan (group-scan.ts) and keeps the line as it is, reading the
 * lists only for the request the user opens; JSON.parse of every line, and the ~20 objects each
 * expanded into, were most of what the dashboard spent per request (~40 µs; profile of
 * `dualcgi dashboard` under load). The keys come in this order or the scan does not apply.
 *
 * A record is `[time, dir, typeCode, contentLength, paddingLength, num?, text?]` (num and text as in
 * RecordNote); `at` is how many of the line's records came before the event, so expanding restores
 * the order. `end` carries method and uri only when `start` is not in the same line. A long
 * request (an upload) makes one such line per turn with the records of that turn, so a listener
 * sees its records as they come, within the sink's batch time. The line is a pino line (level,
 * time, pid, msg) for pino-pretty and jq; dualcgi's reader expands it into the events it stands for
 * (group-expand.ts), so the dashboard and `tail` see exactly what a line per event would have said.
 */
import { type ParamsBase, pidEvMode, q } from './json-line';
import type { EndNote, RecordNote, StartNote, TraceNote } from './notes';
import { recordNoteLine } from './record-event';
import { endLine, startLine } from './request-events';

/** RequestGroup: one request's notes of one turn, in the order they came. */
export class RequestGroup {
  readonly first: TraceNote;
  readonly records: RecordNote[] = [];
  start: StartNote | undefined = undefined;
  startAt = 0;
  end: EndNote | undefined = undefined;
  endAt = 0;

  constructor(first: TraceNote) {
    this.first = first;
  }

  /** add: false when the group already holds a note of that kind (the caller writes it on its own). */
  add(n: TraceNote): boolean {
    switch (n.note) {
      case 'record':
        this.records.push(n);
        return true;
      case 'start':
        if (this.start !== undefined) return false;
        this.start = n;
        this.startAt = this.records.length;
        return true;
      case 'end':
        if (this.end !== undefined) return false;
        this.end = n;
        this.endAt = this.records.length;
        return true;
    }
  }
}

let lastTime = 0;
let lastTimeText = '0';
/** `[T` and `,[T`: the start of a record tuple at lastTime, first in its list and after another. */
let lastTupleOpen = '[0';
let lastTupleNext = ',[0';

function setTime(t: number): void {
  lastTime = t;
  lastTimeText = String(t);
  lastTupleOpen = `[${lastTimeText}`;
  lastTupleNext = `,[${lastTimeText}`;
}

/** timeText: a time as text; consecutive records share their millisecond, and a 13-digit number is not a small integer to V8. */
function timeText(t: number): string {
  if (t !== lastTime) setTime(t);
  return lastTimeText;
}

/** TupleTail: a record tuple's text after its time, and the fields it was made from. */
interface TupleTail {
  dir: string;
  type: number;
  contentLength: number;
  paddingLength: number;
  num: number;
  text: string;
  tail: string;
}

/**
 * TAILS: record tuple tails (`,"in",1,8,0,1,"RESPONDER"]`) by a hash of their fields, direct
 * mapped: a hello request's eight records are the same eight tails every time. Built from its
 * pieces, a tuple was about a dozen strings (each piece of a template is a string of its own until
 * the line is flattened), and the records were most of the ~5 KB of strings a grouped line made
 * (allocation sampling of the trace-work microbenchmark json-line.ts ParamsJson names; bench/README
 * "Fourth round"); a cached tail leaves two.
 */
const TAILS_SIZE = 64;
const tails: Array<TupleTail | undefined> = new Array<TupleTail | undefined>(TAILS_SIZE).fill(undefined);

function tupleTail(n: RecordNote): string {
  const slot = (n.type * 7 + n.contentLength * 31 + n.paddingLength * 3 + n.num * 5 + (n.dir === 'in' ? 0 : 17)) & (TAILS_SIZE - 1);
  const t = tails[slot];
  if (t !== undefined && t.type === n.type && t.contentLength === n.contentLength && t.paddingLength === n.paddingLength && t.num === n.num
    && t.dir === n.dir && t.text === n.text) return t.tail;
  const end = n.text !== '' ? `,${n.num},"${n.text}"]` : n.num >= 0 ? `,${n.num}]` : ']';
  const tail = `,"${n.dir}",${n.type},${n.contentLength},${n.paddingLength}${end}`;
  tails[slot] = { dir: n.dir, type: n.type, contentLength: n.contentLength, paddingLength: n.paddingLength, num: n.num, text: n.text, tail };
  return tail;
}

/** recordTuple: a record's tuple, after a comma unless it is the first of its list. */
function recordTuple(n: RecordNote, first: boolean): string {
  if (n.time !== lastTime) setTime(n.time);
  return (first ? lastTupleOpen : lastTupleNext) + tupleTail(n);
}

/** The last records list: its text, its time and its tails (when every record had that time). */
let lastRecordsText = '';
let lastRecordsTime = -1;
const lastRecordsTails: string[] = [];
let lastRecordsCount = 0;

/**
 * recordsText: `,"records":[...]`. The requests of one millisecond with the same records (every
 * hello request: the same eight tails) have the same text: the last one is kept, and found again
 * by comparing the tails (cached strings, compared by reference) instead of joining sixteen pieces.
 */
function recordsText(records: RecordNote[]): string {
  const n = records.length;
  const time = records[0]!.time;
  let oneTime = true;
  let same = n === lastRecordsCount && time === lastRecordsTime;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const tail = tupleTail(r);
    if (r.time !== time) oneTime = false;
    if (lastRecordsTails[i] !== tail) {
      same = false;
      lastRecordsTails[i] = tail;
    }
  }
  if (same && oneTime) return lastRecordsText;
  let list = `,"records":[${recordTuple(records[0]!, true)}`;
  for (let i = 1; i < n; i++) list += recordTuple(records[i]!, false);
  lastRecordsText = `${list}]`;
  lastRecordsCount = n;
  lastRecordsTime = oneTime ? time : -1; // a list of mixed times is not kept
  return lastRecordsText;
}

/** The fixed-size fields of start after its time, and of end from its status to durationMs, as last written. */
let lastStart: StartNote | undefined;
let lastStartText = '';
let lastEnd: EndNote | undefined;
let lastEndText = '';

/** startFields: `,"method":..,"uri":..,"url":..,"mountPoint":..,"role":..}`, kept while they repeat (as tupleTail, for the same reason). */
function startFields(n: StartNote): string {
  const l = lastStart;
  if (l !== undefined && l.method === n.method && l.uri === n.uri && l.url === n.url && l.mountPoint === n.mountPoint && l.role === n.role) {
    return lastStartText;
  }
  lastStart = n;
  lastStartText = `,"method":${q(n.method)},"uri":${q(n.uri)},"url":${q(n.url)},"mountPoint":${q(n.mountPoint)},"role":${q(n.role)}}`;
  return lastStartText;
}

/** endCounts: `,"status":S,"bytesIn":I,"bytesOut":O,"durationMs":`, kept while they repeat. */
function endCounts(n: EndNote): string {
  const l = lastEnd;
  if (l !== undefined && l.status === n.status && l.bytesIn === n.bytesIn && l.bytesOut === n.bytesOut) return lastEndText;
  lastEnd = n;
  lastEndText = `,"status":${n.status},"bytesIn":${n.bytesIn},"bytesOut":${n.bytesOut},"durationMs":`;
  return lastEndText;
}

/** pidAndMode: `,"pid":P,"ev":"request","mode":"M"` (json-line.ts pidEvMode). */
const pidAndMode = pidEvMode('request');

/**
 * ParamsWire: which params base (json-line.ts ParamsJson) one listener connection has been sent.
 * A SocketSink keeps one per connection, made new when it connects: a listener that connects
 * later, like every listener at first, is sent the base before any delta against it.
 */
export interface ParamsWire {
  sent: ParamsBase | undefined;
}

/**
 * paramsText: a start's params in a grouped line. Once this connection has been sent the base of
 * the start's params, only the values that differ from the base's go (`"paramsDelta"`, behind
 * nginx a hello request's REMOTE_PORT alone: ~30 bytes) instead of the whole list (`"params"`,
 * ~530 bytes for nginx's 21 params); the base goes whole (`"paramsBase"`) on the first line of a
 * connection that needs it, and again whenever the base changes. Readers rebuild the whole list
 * (group-expand.ts). What it buys: the serving process's CPU per traced hello request with the
 * dashboard attached 29.3 -> 27.5 µs, the dashboard's 9.1 -> 7.3 (bench/ trace suite `hello-cpu`
 * group; bench/README "Fifth round").
 */
function paramsText(start: StartNote, wire: ParamsWire | undefined): string {
  const base = start.paramsBase;
  if (base === undefined || wire === undefined) return `,"params":${start.paramsJson}`;
  if (wire.sent === base) return `,"paramsDelta":${start.paramsDelta}`;
  wire.sent = base;
  return `,"paramsBase":${base.text},"paramsDelta":${start.paramsDelta}`;
}

/**
 * groupLine: the one NDJSON line of a group (see the file comment). Templates over cached
 * fragments rather than an array join of ~70 mixed pieces: in the profile of the serving process
 * (hello, an attached listener) the join took 3.8 µs per request, the templates 1.2 plus 1.8 in
 * the sink's Buffer.write that flattens them. Role and status names are our own (no escaping);
 * every other string was quoted when its note was made, or is quoted here.
 */
export function groupLine(g: RequestGroup, wire?: ParamsWire): string {
  const { first, start, end, records } = g;
  const msg = end !== undefined ? end.msg : start !== undefined ? `${start.method} ${start.uri}`
    : `${records.length} record${records.length === 1 ? '' : 's'} of request ${first.requestId}`;
  const level = end !== undefined ? end.level : start !== undefined ? 30 : 20;
  let line = `{"level":${level},"time":${timeText(first.time)}${pidAndMode(first.pid, first.mode)},"msg":${q(msg)},"rid":${q(first.rid ?? '')}${
    records.length > 0 ? `,"conn":${records[0]!.conn}` : ''},"requestId":${first.requestId}`;
  if (start !== undefined) line += `,"start":{"at":${g.startAt},"time":${timeText(start.time)}${startFields(start)}`;
  if (end !== undefined) {
    line += `,"end":{"at":${g.endAt},"time":${timeText(end.time)},"level":${end.level}${
      start === undefined ? `,"method":${q(end.method)},"uri":${q(end.uri)}` : ''}${endCounts(end)}${end.durationMs},"aborted":${end.aborted}}`;
  }
  if (records.length > 0) line += recordsText(records);
  if (start !== undefined) line += paramsText(start, wire);
  if (end !== undefined) line += `,"headers":${end.headersJson}`;
  return `${line}}\n`;
}

/** noteLine: a note as the line of its own event, with its newline (the file and stderr targets write these). */
export function noteLine(n: TraceNote): string {
  switch (n.note) {
    case 'record': return `${recordNoteLine(n)}\n`;
    case 'start': return `${startLine(n)}\n`;
    case 'end': return `${endLine(n)}\n`;
  }
}
