/**
 * The events a wire frame stands for (wire-decode.ts), made when first asked for: records as
 * record-event.ts makes them (notes for the kinds every request has, the rest decoded by
 * recordEvent), params and headers with the values the serving process masked shown redacted.
 */
import { protocolStatusName, RecordType, roleName } from '../protocol/constants';
import type { ParamList } from '../fastcgi/param-list';
import { Level, type TraceEvent } from './events';
import { ExpandedItem } from './group-expand';
import type { RecordNote } from './notes';
import type { ReadItem } from './reader';
import { recordEvent, recordNoteEvent, recordNoteLine } from './record-event';
import { isSecretHeaderName, isSecretParamName, preview, REDACTED } from './redact';
import { FrameFlag, type WireHead } from './wire-format';

type Obj = Record<string, unknown>;
type Event = TraceEvent & Obj;

/** RecordFrame: a RECORD frame (wire-format.ts), its content bytes (a view) with it. */
export interface RecordFrame {
  dir: 'in' | 'out';
  flags: number;
  conn: number;
  rid: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
  bytes: Buffer;
}

export function recordItem(f: RecordFrame, rid: string | undefined, time: number, num: number, head: WireHead): ReadItem {
  const b = f.bytes;
  let text = '';
  let n = num;
  let asNote = true;
  switch (f.type) {
    case RecordType.BeginRequest:
      if (b.length !== 8) asNote = false;
      else {
        text = roleName(b.readUInt16BE(0));
        n = b[2]!;
      }
      break;
    case RecordType.EndRequest:
      if (b.length !== 8) asNote = false;
      else {
        n = b.readUInt32BE(0);
        text = protocolStatusName(b[4]!);
      }
      break;
    case RecordType.Params:
    case RecordType.AbortRequest:
      break;
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      if ((f.flags & FrameFlag.preview) !== 0 && f.contentLength > 0) asNote = false;
      break;
    default:
      asNote = false;
  }
  if (asNote) {
    return noteItem({
      note: 'record', time: Math.floor(time), pid: head.pid, mode: head.mode, conn: f.conn, dir: f.dir, type: f.type,
      requestId: f.requestId, contentLength: f.contentLength, paddingLength: f.paddingLength, rid, num: n, text,
    });
  }
  const pv = head.preview;
  const make = (): Event => {
    const ev = recordEvent({ version: 1, type: f.type, requestId: f.requestId, contentLength: f.contentLength, paddingLength: f.paddingLength, content: b },
      f.dir, f.conn, head.mode, rid) as Obj;
    delete ev['redacted'];
    delete ev['preview'];
    if ((f.flags & FrameFlag.preview) !== 0 && f.contentLength > 0) ev['preview'] = preview(b, pv);
    else if (isBody(f.type) && f.contentLength > 0) ev['redacted'] = true;
    return { level: Level.debug, time: Math.floor(time), pid: head.pid, ...ev } as unknown as Event;
  };
  let event: Event | undefined;
  return new ExpandedItem(() => (event ??= make()), () => JSON.stringify(event ??= make()));
}

/** noteItem: a record note as an item whose event and line are made when asked for. */
export function noteItem(note: RecordNote): ExpandedItem {
  return new ExpandedItem(() => recordNoteEvent(note) as unknown as Event, () => recordNoteLine(note));
}

function isBody(type: number): boolean {
  return type === RecordType.Stdin || type === RecordType.Stdout || type === RecordType.Data;
}

/** paramPairs: the params as pairs, secret values shown redacted when the serving process masked them. */
export function paramPairs(list: ParamList, masked: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  list.forEach((value, name) => out.push([name, masked && isSecretParamName(name) ? REDACTED : value]));
  return out;
}

/**
 * headersFrom: a response's headers from the head the mirror sent: a `Status:` first line
 * (what the adapters write) left out, secret ones shown redacted.
 */
export function headersFrom(req: { head: Buffer[] | null; headMasked: boolean }): Array<[string, string]> {
  if (req.head === null) return [];
  let text = Buffer.concat(req.head).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end !== -1) text = text.slice(0, end);
  const lines = text.split(/\r?\n/);
  if (STATUS_LINE.test(lines[0] ?? '')) lines.shift();
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    headers.push([name, req.headMasked && isSecretHeaderName(name.toLowerCase()) ? REDACTED : line.slice(colon + 1).trim()]);
  }
  return headers;
}

const STATUS_LINE = /^status:\s*(\d{3})/i;

