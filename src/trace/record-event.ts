import {
  decodeBeginRequestBody, decodeEndRequestBody, decodePairs, decodeUnknownTypeBody, FCGI_KEEP_CONN,
  type FastCGIRecord, protocolStatusName, RecordType, recordTypeName, roleName,
} from '../protocol';
import { Level, type RecordEvent } from './events';
import { q } from './json-line';
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
 * recordLine: the NDJSON line of a record event for the record types every request has (BEGIN_REQUEST,
 * PARAMS, STDIN/STDOUT/DATA with bodies redacted, END_REQUEST, ABORT_REQUEST), written by hand; undefined
 * for anything else (the caller falls back to recordEvent). Same fields as recordEvent, except that
 * a PARAMS record carries `pairs` (how many pairs it holds) instead of the pairs themselves: the
 * request.start event carries the params once, complete and redacted (json-line.ts says what this
 * buys).
 */
export function recordLine(record: FastCGIRecord, dir: 'in' | 'out', conn: number, mode: string, rid: string | undefined): string | undefined {
  const type = record.type;
  const content = record.content;
  let extra: string;
  let note = '';
  switch (type) {
    case RecordType.BeginRequest: {
      if (content.length !== 8) return undefined;
      const role = roleName(content.readUInt16BE(0));
      const flags = content[2]!;
      const keep = (flags & FCGI_KEEP_CONN) !== 0;
      note = ` role=${role}${keep ? ' KEEP_CONN' : ''}`;
      extra = `,"role":"${role}","flags":${flags},"keepConn":${keep}`;
      break;
    }
    case RecordType.EndRequest: {
      if (content.length !== 8) return undefined;
      const appStatus = content.readUInt32BE(0);
      const status = protocolStatusName(content[4]!);
      note = ` ${status} app=${appStatus}`;
      extra = `,"appStatus":${appStatus},"protocolStatus":"${status}"`;
      break;
    }
    case RecordType.Params:
      extra = content.length > 0 ? `,"pairs":${countPairs(content)}` : '';
      break;
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      if (content.length > 0 && traceOptions.showSecrets) return undefined;
      extra = content.length > 0 ? ',"redacted":true' : '';
      break;
    case RecordType.AbortRequest:
      extra = '';
      break;
    default:
      return undefined;
  }
  // Names come from our own tables and ids/lengths are numbers: nothing here needs escaping but the
  // rid. The line is made flat at once, by one join of a few pieces with the constant text
  // precomputed per type: built as a template (a rope of ~25 parts), it was flattened only when
  // the sink joined the turn's lines, by then out of cache. In the profile of the serving process
  // under wrk (the trace suite's setup, in-process listener) the sink's join fell from ~13 to
  // ~2 µs per request and GC from ~24 to ~13 µs over tracing off; wall-clock A/B runs of the
  // `hello-cpu` kind stayed within the machine's noise.
  const f = fragmentsOf(dir, type);
  return [
    '{"level":20,"time":', Date.now(), pidAndMode(mode), f.msg, record.requestId, ' len=', record.contentLength, note,
    '","conn":', conn, f.fields, record.requestId, ',"contentLength":', record.contentLength,
    ',"paddingLength":', record.paddingLength, rid === undefined ? '' : `,"rid":${q(rid)}`, extra, '}\n',
  ].join('');
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

let lastMode = '';
let lastPidAndMode = '';

/** pidAndMode: `,"pid":P,"ev":"record","mode":"M"` (one mode per process in practice). */
function pidAndMode(mode: string): string {
  if (mode !== lastMode) {
    lastMode = mode;
    lastPidAndMode = `,"pid":${process.pid},"ev":"record","mode":${JSON.stringify(mode)}`;
  }
  return lastPidAndMode;
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
