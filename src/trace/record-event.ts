import {
  decodeBeginRequestBody, decodeEndRequestBody, decodePairs, decodeUnknownTypeBody, FCGI_KEEP_CONN,
  type FastCGIRecord, protocolStatusName, RecordType, recordTypeName, roleName,
} from '../protocol';
import { Level, type RecordEvent } from './events';
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
