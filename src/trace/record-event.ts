// From the protocol's own modules, not its index: the index re-exports with `export *`, which
// CommonJS output turns into a getter per name, run on every use (`get` in the profile of the
// serving process; 9.8 -> 9.5 µs per traced hello request in the microbenchmark request-events.ts
// headersJson names).
import { decodeBeginRequestBody, decodeEndRequestBody, decodeUnknownTypeBody } from '../protocol/bodies';
import { FCGI_KEEP_CONN, protocolStatusName, RecordType, recordTypeName, roleName } from '../protocol/constants';
import { decodePairs } from '../protocol/pairs';
import type { FastCGIRecord } from '../protocol/record';
import { Level, type RecordEvent } from './events';
import { pidEvMode, q } from './json-line';
import type { RecordNote } from './notes';
import { preview, redactParams, traceOptions } from './redact';

type RecordInput = Omit<RecordEvent, 'level' | 'time' | 'pid'> & { level?: number };

/**
 * recordEvent: a FastCGI record decoded for people: role and flags, params as pairs, statuses by
 * name, values, and a bounded preview of stream bytes (bodies redacted unless secrets are shown;
 * STDERR is diagnostics and always shown). Never throws: a malformed body is reported as such.
 */
export function recordEvent(record: FastCGIRecord, dir: 'in' | 'out', conn: number, mode: string, rid?: string): RecordInput {
  const type = recordTypeName(record.type);
  const event: RecordInput = {
    ev: 'record', mode, msg: `${dir === 'in' ? '<-' : '->'} ${type} id=${record.requestId} len=${record.contentLength}`,
    level: Level.debug, conn, dir, type, typeCode: record.type, requestId: record.requestId,
    contentLength: record.contentLength, paddingLength: record.paddingLength,
  };
  if (rid !== undefined) event.rid = rid;
  try {
    decodeContent(event, record);
  } catch (err) {
    event.msg += ` (malformed: ${(err as Error).message})`;
  }
  return event;
}

function decodeContent(event: RecordInput, record: FastCGIRecord): void {
  const content = record.content;
  switch (record.type) {
    case RecordType.BeginRequest: {
      const body = decodeBeginRequestBody(content);
      event.role = roleName(body.role);
      event.flags = body.flags;
      event.keepConn = (body.flags & FCGI_KEEP_CONN) !== 0;
      event.msg += ` role=${event.role}${event.keepConn ? ' KEEP_CONN' : ''}`;
      return;
    }
    case RecordType.EndRequest: {
      const body = decodeEndRequestBody(content);
      event.appStatus = body.appStatus;
      event.protocolStatus = protocolStatusName(body.protocolStatus);
      event.msg += ` ${event.protocolStatus} app=${body.appStatus}`;
      return;
    }
    case RecordType.Params:
      // A pair may straddle records; one record alone may not decode. Show what does.
      if (content.length > 0) event.params = redactParams(decodePairsLenient(content));
      return;
    case RecordType.GetValues:
    case RecordType.GetValuesResult:
      event.values = decodePairs(content);
      return;
    case RecordType.UnknownType:
      event.unknownType = decodeUnknownTypeBody(content);
      return;
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      if (content.length === 0) return;
      if (traceOptions.showSecrets) event.preview = preview(content);
      else event.redacted = true;
      return;
    case RecordType.Stderr:
      if (content.length > 0) event.preview = preview(content);
      return;
    default:
  }
}

function decodePairsLenient(content: Buffer): Array<[string, string]> {
  try {
    return decodePairs(content);
  } catch {
    return [['(pairs continue in the next record)', `${content.length} bytes`]];
  }
}

/**
 * recordNote: the values of a record event for the record types every request has (BEGIN_REQUEST,
 * PARAMS, STDIN/STDOUT/DATA with bodies redacted, END_REQUEST, ABORT_REQUEST); undefined for
 * anything else (the caller falls back to recordEvent). Same fields as recordEvent, except that a
 * PARAMS record carries `pairs` (how many pairs it holds) instead of the pairs themselves: the
 * request.start event carries the params once, complete and redacted (json-line.ts says what
 * this buys). notes.ts says why values rather than a line.
 */
export function recordNote(record: FastCGIRecord, dir: 'in' | 'out', conn: number, mode: string, rid: string | undefined): RecordNote | undefined {
  const content = record.content;
  let num = -1;
  let text = '';
  switch (record.type) {
    case RecordType.BeginRequest:
      if (content.length !== 8) return undefined;
      text = roleName(content.readUInt16BE(0));
      num = content[2]!;
      break;
    case RecordType.EndRequest:
      if (content.length !== 8) return undefined;
      num = content.readUInt32BE(0);
      text = protocolStatusName(content[4]!);
      break;
    case RecordType.Params:
      if (content.length > 0) num = countPairs(content);
      break;
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      if (content.length > 0 && traceOptions.showSecrets) return undefined;
      break;
    case RecordType.AbortRequest:
      break;
    default:
      return undefined;
  }
  return {
    note: 'record', time: Date.now(), pid: process.pid, mode, conn, dir, type: record.type, requestId: record.requestId,
    contentLength: record.contentLength, paddingLength: record.paddingLength, rid, num, text,
  };
}

/**
 * recordNoteLine: a record note as its own `record` event line, without the newline (the file
 * and stderr targets, and `tail --json` expanding a grouped line). Names come from our own tables and ids and lengths are
 * numbers: nothing here needs escaping but the rid and, when the note comes from a line being
 * expanded, the mode and names (group-expand.ts admits only plain names). One template over
 * cached fragments: an array join of the ~20 pieces took twice as long (microbenchmark of
 * expanding a hello request's group, tail's side).
 */
export function recordNoteLine(n: RecordNote): string {
  const f = fragmentsOf(n.dir, n.type);
  let note = '';
  let fields = '';
  switch (n.type) {
    case RecordType.BeginRequest: {
      const keep = (n.num & FCGI_KEEP_CONN) !== 0;
      note = ` role=${n.text}${keep ? ' KEEP_CONN' : ''}`;
      fields = `,"role":"${n.text}","flags":${n.num},"keepConn":${keep}`;
      break;
    }
    case RecordType.EndRequest:
      note = ` ${n.text} app=${n.num}`;
      fields = `,"appStatus":${n.num},"protocolStatus":"${n.text}"`;
      break;
    case RecordType.Params:
      if (n.num >= 0) fields = `,"pairs":${n.num}`;
      break;
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      if (n.contentLength > 0) fields = ',"redacted":true';
      break;
    default:
  }
  const rid = n.rid === undefined ? '' : `,"rid":${q(n.rid)}`;
  return `{"level":20,"time":${n.time}${pidAndMode(n.pid, n.mode)}${f.msg}${n.requestId} len=${n.contentLength}${note}","conn":${n.conn}${
    f.fields}${n.requestId},"contentLength":${n.contentLength},"paddingLength":${n.paddingLength}${rid}${fields}}`;
}

/** pidAndMode: `,"pid":P,"ev":"record","mode":"M"` (json-line.ts pidEvMode). */
const pidAndMode = pidEvMode('record');

/** recordNoteEvent: a record note as the event object recordNoteLine's line parses to. */
export function recordNoteEvent(n: RecordNote): RecordEvent {
  const type = recordTypeName(n.type);
  const event: RecordEvent = {
    level: Level.debug, time: n.time, pid: n.pid, ev: 'record', mode: n.mode,
    msg: `${n.dir === 'in' ? '<-' : '->'} ${type} id=${n.requestId} len=${n.contentLength}`, conn: n.conn, dir: n.dir, type,
    typeCode: n.type, requestId: n.requestId, contentLength: n.contentLength, paddingLength: n.paddingLength,
  };
  if (n.rid !== undefined) event.rid = n.rid;
  switch (n.type) {
    case RecordType.BeginRequest:
      event.role = n.text;
      event.flags = n.num;
      event.keepConn = (n.num & FCGI_KEEP_CONN) !== 0;
      event.msg += ` role=${n.text}${event.keepConn ? ' KEEP_CONN' : ''}`;
      break;
    case RecordType.EndRequest:
      event.appStatus = n.num;
      event.protocolStatus = n.text;
      event.msg += ` ${n.text} app=${n.num}`;
      break;
    case RecordType.Params:
      if (n.num >= 0) event.pairs = n.num;
      break;
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      if (n.contentLength > 0) event.redacted = true;
      break;
    default:
  }
  return event;
}

/** Fragments: the constant text of one record type's line in one direction. */
interface Fragments {
  msg: string;
  fields: string;
}

const fragments: Array<Map<number, Fragments>> = [new Map(), new Map()];

function fragmentsOf(dir: 'in' | 'out', type: number): Fragments {
  const byType = fragments[dir === 'in' ? 0 : 1]!;
  let f = byType.get(type);
  if (f === undefined) {
    const name = recordTypeName(type);
    f = {
      msg: `,"msg":"${dir === 'in' ? '<-' : '->'} ${name} id=`,
      fields: `,"dir":"${dir}","type":"${name}","typeCode":${type},"requestId":`,
    };
    byType.set(type, f);
  }
  return f;
}

/** countPairs: how many whole name-value pairs `content` holds, without decoding them (a pair may continue in the next record). */
export function countPairs(content: Buffer): number {
  let n = 0;
  let i = 0;
  const end = content.length;
  for (;;) {
    if (i >= end) return n;
    let nameLen = content[i]!;
    if (nameLen > 127) {
      if (i + 4 > end) return n;
      nameLen = content.readUInt32BE(i) & 0x7fffffff;
      i += 4;
    } else i += 1;
    if (i >= end) return n;
    let valueLen = content[i]!;
    if (valueLen > 127) {
      if (i + 4 > end) return n;
      valueLen = content.readUInt32BE(i) & 0x7fffffff;
      i += 4;
    } else i += 1;
    i += nameLen + valueLen;
    if (i > end) return n;
    n++;
  }
}
