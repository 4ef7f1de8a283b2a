/**
 * WireDecoder: the reading side of the wire mirror (wire-mirror.ts, frames in wire-format.ts):
 * one trace connection's wire lines back into the events a line per event would have carried:
 * `record` (decoded as record-event.ts decodes them), `request.start` (method, uri, url, mount
 * point, role, params: the request mapping of cgi/request-head.ts, with the serving process's
 * options from the line) and `request.end` (status and headers from the response's head, bytes in
 * and out from the stream records, the duration between the end of PARAMS and END_REQUEST, aborts
 * from ABORT_REQUEST and lost connections). Each event's line is made by the same builders as
 * before (record-event.ts, request-events.ts), when first asked for.
 *
 * With `summaries` (the dashboard), a request whose frames from BEGIN_REQUEST to END_REQUEST came
 * in one wire line is handed on as one group item: its summary, and its events made when asked
 * for (group-scan.ts says why the dashboard wants that).
 *
 * Input is never trusted: frames that do not fit end the line's decoding (what came before them
 * stands), and values are checked before use.
 */
import { parseContentLength, resolveTarget } from '../cgi/request-head';
import { decodeParamList, type ParamList } from '../fastcgi/param-list';
import { protocolStatusName, RecordType, roleName } from '../protocol/constants';
import { Level, type TraceEvent } from './events';
import { ExpandedItem } from './group-expand';
import type { GroupItem, GroupSummary } from './group-scan';
import { NO_DELTA, pairsJson } from './json-line';
import type { RecordNote } from './notes';
import type { ReadItem } from './reader';
import { countPairs, recordEvent, recordNoteEvent, recordNoteLine } from './record-event';
import { endLine, startLine } from './request-events';
import { isSecretParamName, preview, REDACTED } from './redact';
import { CONT_FRAME_BYTES, FrameFlag, FrameKind, PARAMS_FRAME_BYTES, RECORD_FRAME_BYTES, TIME_FRAME_BYTES, WIRE_VERSION } from './wire-format';

type Obj = Record<string, unknown>;
type Event = TraceEvent & Obj;

/** READER_LIMITS: a reader shows what the serving process accepted; these only keep a hostile line bounded. */
const READER_LIMITS = {
  maxParams: 10_000, maxNameBytes: 64 * 1024, maxValueBytes: 1024 * 1024, maxRequestsPerConn: 65_536, maxBodyBytes: Infinity,
  idleTimeoutMs: 0, paramsTimeoutMs: 0, writeTimeoutMs: 0,
};

const never = (): boolean => false;
const SECRET_HEADERS = new Set(['set-cookie', 'authorization', 'cookie', 'proxy-authorization']);

/** WireHead: a wire line's fields before its frames. */
export interface WireHead {
  pid: number;
  mode: string;
  preview: number;
  strip: boolean;
  script: string | undefined;
}

/** wireHeadOf: the fields of a wire line's head (parsed JSON), or undefined when they are not a wire line's. */
export function wireHeadOf(ev: Obj): WireHead | undefined {
  const { pid, mode, v, preview: pv, target } = ev;
  if (v !== WIRE_VERSION || !Number.isInteger(pid) || typeof mode !== 'string' || !Number.isInteger(pv)) return undefined;
  const t = typeof target === 'object' && target !== null ? target as Obj : {};
  return { pid: pid as number, mode, preview: pv as number, strip: t['strip'] !== false, script: typeof t['script'] === 'string' ? t['script'] : undefined };
}

/** Req: what the reader knows of one request in flight. */
interface Req {
  rid: string;
  ridNumber: number;
  conn: number;
  requestId: number;
  role: string;
  /** began: its BEGIN_REQUEST was seen (a listener that connected later sees requests without one). */
  began: boolean;
  /** held: its PARAMS records, until the whole stream comes (their pair counts need it). */
  held: Array<{ time: number; contentLength: number; paddingLength: number }> | null;
  started: boolean;
  startTime: number;
  method: string;
  uri: string;
  url: string;
  mountPoint: string;
  ended: boolean;
  bytesIn: number;
  bytesOut: number;
  head: Buffer[] | null;
  headMasked: boolean;
  /** status: from the head's `Status:` line (200 without one). */
  status: number;
  headSeen: boolean;
  /** paramsAt, paramsEnd, paramsMasked: a gathered request's PARAMS stream in the line (its summary reads it when asked). */
  paramsAt: number;
  paramsEnd: number;
  paramsMasked: boolean;
  /**
   * spans: with summaries, where the request's frames are in this line (start, end, time: three
   * numbers a frame) while it may still become one group; null once handed on. Its events are
   * made only if asked for, by decoding a copy of those frames again (#group says why).
   */
  spans: number[] | null;
  records: number;
  startAt: number;
}

/** Piece: a record arriving in pieces, until its last piece. */
interface Piece {
  frame: RecordFrame;
  bytes: Buffer[];
}

interface RecordFrame {
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

export class WireDecoder {
  #conns = new Map<number, Map<number, Req>>();
  #pieces = new Map<number, Piece>();
  #summaries: boolean;
  #time = 0;
  #head: WireHead = { pid: 0, mode: 'fcgi', preview: 256, strip: true, script: undefined };
  #onItem: (item: ReadItem | GroupItem) => void = () => {};
  /** #open: requests with frames gathered in this line (summaries): handed on one by one at its end if not done. */
  #open: Req[] = [];
  /** #frame: the frame being decoded, in #bytes from #frameStart to #frameEnd. */
  #bytes: Buffer = EMPTY;
  #frameStart = 0;
  #frameEnd = 0;

  constructor(options: { summaries?: boolean } = {}) {
    this.#summaries = options.summaries === true;
  }

  /** decode: one wire line's frames (`bytes`, base64-decoded) with its head's fields. */
  decode(head: WireHead, bytes: Buffer, onItem: (item: ReadItem | GroupItem) => void): void {
    this.#head = head;
    this.#onItem = onItem;
    this.#bytes = bytes;
    try {
      this.#frames(bytes);
    } finally {
      for (const req of this.#open) this.#release(req);
      this.#open = [];
      this.#bytes = EMPTY;
    }
  }

  #frames(b: Buffer): void {
    let at = 0;
    while (at < b.length) {
      const kind = b[at]!;
      switch (kind) {
        case FrameKind.time:
          if (at + 9 > b.length) return;
          this.#time = b.readDoubleLE(at + 1);
          at += 9;
          break;
        case FrameKind.recordIn:
        case FrameKind.recordOut: {
          if (at + RECORD_FRAME_BYTES > b.length) return;
          const n = b.readUInt32LE(at + 18);
          const end = at + RECORD_FRAME_BYTES + n;
          if (end > b.length) return;
          this.#frameStart = at;
          this.#frameEnd = end;
          const flags = b[at + 1]!;
          const type = b[at + 11]!;
          const requestId = (b[at + 12]! << 8) | b[at + 13]!;
          let req: Req | undefined;
          if ((flags & FrameFlag.piece) === 0) {
            req = this.#req(readU32(b, at + 2), requestId, readU32(b, at + 6), type === RecordType.BeginRequest && kind === FrameKind.recordIn);
            if (req !== undefined && req.spans !== null) {
              this.#gather(req, kind, type, flags, at, end);
              at = end;
              break;
            }
          }
          const frame: RecordFrame = {
            dir: kind === FrameKind.recordIn ? 'in' : 'out', flags: b[at + 1]!, conn: b.readUInt32LE(at + 2), rid: b.readUInt32LE(at + 6),
            type: b[at + 11]!, requestId: b.readUInt16BE(at + 12), contentLength: b.readUInt16BE(at + 14), paddingLength: b[at + 16]!,
            bytes: b.subarray(at + RECORD_FRAME_BYTES, end),
          };
          if ((frame.flags & FrameFlag.piece) !== 0) {
            // A record in pieces is not gathered (its frames are apart): its request goes on one event at a time.
            const req = this.#conns.get(frame.conn)?.get(frame.requestId);
            if (req !== undefined) this.#release(req);
            this.#pieces.set(frame.conn, { frame, bytes: [frame.bytes] });
          }
          else this.#record(frame, req);
          at = end;
          break;
        }
        case FrameKind.cont: {
          if (at + CONT_FRAME_BYTES > b.length) return;
          const conn = b.readUInt32LE(at + 2);
          const n = b.readUInt32LE(at + 6);
          const end = at + CONT_FRAME_BYTES + n;
          if (end > b.length) return;
          const piece = this.#pieces.get(conn);
          if (piece !== undefined) {
            if (n > 0) piece.bytes.push(b.subarray(at + CONT_FRAME_BYTES, end));
            if ((b[at + 1]! & FrameFlag.last) !== 0) {
              this.#pieces.delete(conn);
              const f = piece.frame;
              this.#record({ ...f, bytes: Buffer.concat(piece.bytes) }, this.#req(f.conn, f.requestId, f.rid, false));
            }
          }
          at = end;
          break;
        }
        case FrameKind.params: {
          if (at + PARAMS_FRAME_BYTES > b.length) return;
          const n = b.readUInt32LE(at + 12);
          const end = at + PARAMS_FRAME_BYTES + n;
          if (end > b.length) return;
          this.#frameStart = at;
          this.#frameEnd = end;
          this.#params(b.readUInt32LE(at + 2), b.readUInt32LE(at + 6), b.readUInt16LE(at + 10), (b[at + 1]! & FrameFlag.masked) !== 0,
            b.subarray(at + PARAMS_FRAME_BYTES, end));
          at = end;
          break;
        }
        case FrameKind.close:
          if (at + 5 > b.length) return;
          this.#close(b.readUInt32LE(at + 1));
          at += 5;
          break;
        default:
          return;
      }
    }
  }

  /** #req: the request a frame belongs to: by its rid, else the last one on its connection and id (a STDIN after END_REQUEST). */
  #req(conn: number, requestId: number, rid: number, begin: boolean): Req | undefined {
    let byId = this.#conns.get(conn);
    const known = byId?.get(requestId);
    if (known !== undefined && (rid === 0 || known.ridNumber === rid) && !begin) return known;
    if (rid === 0 || requestId === 0) return undefined;
    if (byId === undefined) this.#conns.set(conn, byId = new Map());
    const req: Req = {
      rid: `${this.#head.pid}-${rid}`, ridNumber: rid, conn, requestId, role: '', began: begin, held: null, started: false, startTime: 0,
      method: '', uri: '', url: '', mountPoint: '', ended: false, bytesIn: 0, bytesOut: 0, head: null, headMasked: false, headSeen: false,
      status: 200, spans: null, records: 0, startAt: 0, paramsAt: -1, paramsEnd: -1, paramsMasked: false,
    };
    if (begin && this.#summaries) {
      req.spans = [];
      this.#open.push(req);
    }
    byId.set(requestId, req);
    return req;
  }

  /**
   * #gather: a record frame of a request being gathered (summaries): what its summary needs is
   * read from the bytes where they are (no frame object, no view), and where the frame is noted.
   */
  #gather(req: Req, kind: number, type: number, flags: number, at: number, end: number): void {
    const b = this.#bytes;
    const body = at + RECORD_FRAME_BYTES;
    const contentLength = (b[at + 14]! << 8) | b[at + 15]!;
    req.records++;
    req.spans!.push(at, end, this.#time);
    const dirIn = kind === FrameKind.recordIn;
    switch (type) {
      case RecordType.BeginRequest:
        if (dirIn && end - body === 8) req.role = roleName((b[body]! << 8) | b[body + 1]!);
        return;
      case RecordType.Stdin:
        if (dirIn) req.bytesIn += contentLength;
        return;
      case RecordType.Stdout:
        if (dirIn) return;
        req.bytesOut += contentLength;
        if ((flags & FrameFlag.head) !== 0 && !req.headSeen) {
          req.headSeen = true;
          req.status = statusAt(b, body, end);
        }
        return;
      case RecordType.AbortRequest:
        if (dirIn) this.#end(req, this.#time, true);
        return;
      case RecordType.EndRequest:
        if (!dirIn) this.#end(req, this.#time, false);
        return;
      default:
    }
  }

  #record(f: RecordFrame, req: Req | undefined): void {
    const time = this.#time;
    switch (f.type) {
      case RecordType.BeginRequest:
        if (req !== undefined && f.dir === 'in' && f.bytes.length === 8) req.role = roleName(f.bytes.readUInt16BE(0));
        break;
      case RecordType.Params:
        if (req !== undefined && f.dir === 'in' && !req.started && req.began) {
          (req.held ??= []).push({ time, contentLength: f.contentLength, paddingLength: f.paddingLength });
          return;
        }
        break;
      case RecordType.Stdin:
        if (req !== undefined && f.dir === 'in') req.bytesIn += f.contentLength;
        break;
      case RecordType.Stdout:
        if (req !== undefined && f.dir === 'out') {
          req.bytesOut += f.contentLength;
          if ((f.flags & FrameFlag.head) !== 0) {
            if (!req.headSeen) req.status = statusAt(f.bytes, 0, f.bytes.length);
            req.headSeen = true;
            (req.head ??= []).push(Buffer.from(f.bytes));
            if ((f.flags & FrameFlag.masked) !== 0) req.headMasked = true;
          }
        }
        break;
      default:
    }
    if (req !== undefined) this.#flushHeld(req, undefined);
    this.#onItem(this.#recordItem(f, req, time, -1));
    if (req === undefined) return;
    if (f.type === RecordType.AbortRequest && f.dir === 'in') this.#end(req, time, true);
    else if (f.type === RecordType.EndRequest && f.dir === 'out') this.#end(req, time, false);
  }

  /** #flushHeld: a request's held PARAMS records handed on, with their pair counts when the stream (`params`) is known. */
  #flushHeld(req: Req, params: Buffer | undefined): void {
    const held = req.held;
    if (held === null) return;
    req.held = null;
    let total = 0;
    for (const h of held) total += h.contentLength;
    let off = 0;
    for (const h of held) {
      const num = params !== undefined && total === params.length && h.contentLength > 0 ? countPairs(params.subarray(off, off + h.contentLength)) : -1;
      off += h.contentLength;
      this.#onItem(this.#noteItem({
        note: 'record', time: Math.floor(h.time), pid: this.#head.pid, mode: this.#head.mode, conn: req.conn, dir: 'in', type: RecordType.Params,
        requestId: req.requestId, contentLength: h.contentLength, paddingLength: h.paddingLength, rid: req.rid, num, text: '',
      }));
    }
  }

  #params(conn: number, rid: number, requestId: number, masked: boolean, bytes: Buffer): void {
    const req = this.#req(conn, requestId, rid, false);
    if (req === undefined) return;
    if (req.spans !== null) {
      // Gathered: the request counts as started; its method, uri and url are read when its summary is (WireSummary).
      if (req.started) return;
      req.spans.push(this.#frameStart, this.#frameEnd, this.#time);
      req.started = true;
      req.startTime = this.#time;
      req.startAt = req.records;
      req.paramsAt = this.#frameStart + PARAMS_FRAME_BYTES;
      req.paramsEnd = this.#frameEnd;
      req.paramsMasked = masked;
      return;
    }
    const own = Buffer.from(bytes);
    this.#flushHeld(req, own);
    if (req.started) return;
    let list: ParamList;
    try {
      list = decodeParamList(own, READER_LIMITS);
    } catch {
      return;
    }
    const method = list.get('REQUEST_METHOD');
    if (!method) return; // the serving process answered 400 without starting the request (cgi/request-head.ts)
    let target;
    try {
      parseContentLength(list.get('CONTENT_LENGTH'));
      target = resolveTarget(list, this.#head.strip, this.#head.script);
    } catch {
      return;
    }
    req.started = true;
    req.startTime = this.#time;
    req.method = method;
    req.uri = target.originalUrl;
    req.url = target.url;
    req.mountPoint = target.mountPoint;
    req.startAt = req.records;
    const fields = {
      pid: this.#head.pid, mode: this.#head.mode, rid: req.rid, requestId, time: Math.floor(this.#time), method, uri: req.uri, url: req.url,
      mountPoint: req.mountPoint, role: req.role,
    };
    let params: Array<[string, string]> | undefined;
    const pairs = (): Array<[string, string]> => (params ??= paramPairs(list, masked));
    this.#onItem(new ExpandedItem(
      () => ({ level: 30, ev: 'request.start', msg: `${method} ${fields.uri}`, ...fields, params: pairs() }) as unknown as Event,
      () => startLine({ note: 'start', ...fields, paramsJson: pairsJson(pairs(), never, ''), paramsBase: undefined, paramsDelta: NO_DELTA }),
    ));
  }

  /** #end: request.end of a started request (or one whose start this reader never saw), once. */
  #end(req: Req, time: number, aborted: boolean): void {
    if (req.ended) return;
    req.ended = true;
    if (!req.started && req.began) return; // never started (a 400 from the request mapping): no end either, as before
    const status = aborted ? 499 : req.status;
    const durationMs = req.started ? Math.round((time - req.startTime) * 1000) / 1000 : 0;
    const level = status >= 500 ? Level.error : status >= 400 ? Level.warn : Level.info;
    if (req.spans !== null && req.started) {
      const spans = req.spans;
      req.spans = null;
      const head = this.#head;
      const bytes = this.#bytes;
      this.#onItem({
        kind: 'group', group: new WireSummary(req, head, bytes, Math.floor(time), level, status, durationMs, aborted), bytes: EMPTY,
        paramsBase: undefined, expand: () => redecode(head, copySpans(bytes, spans)),
      });
      return;
    }
    this.#release(req);
    const fields = {
      pid: this.#head.pid, mode: this.#head.mode, rid: req.rid, requestId: req.requestId, time: Math.floor(time), level,
      msg: `${req.method} ${req.uri} ${aborted ? 'aborted' : status} ${durationMs.toFixed(1)}ms`, method: req.method, uri: req.uri, status,
      bytesIn: req.bytesIn, bytesOut: req.bytesOut, durationMs, aborted,
    };
    let headers: Array<[string, string]> | undefined;
    const headersOf = (): Array<[string, string]> => (headers ??= aborted ? [] : headersFrom(req));
    this.#onItem(new ExpandedItem(
      () => ({ ...fields, ev: 'request.end', headers: headersOf(), appStatus: 0 }) as unknown as Event,
      () => endLine({ note: 'end', ...fields, headersJson: pairsJson(headersOf(), never, '') }),
    ));
  }

  /** flushAllHeld: PARAMS records still waiting for their stream handed on without pair counts (redecode). */
  flushAllHeld(): void {
    for (const byId of this.#conns.values()) for (const req of byId.values()) this.#flushHeld(req, undefined);
  }

  #close(conn: number): void {
    this.#pieces.delete(conn);
    const byId = this.#conns.get(conn);
    if (byId === undefined) return;
    this.#conns.delete(conn);
    for (const req of byId.values()) {
      this.#release(req); // its end is not among its frames: it goes as events
      if (req.started) this.#end(req, this.#time, true);
    }
  }

  /**
   * #release: a gathered request that will not be one group (not done by the end of the line, or
   * never started): its events so far are handed on one by one (decoded again from its frames),
   * the rest as they come. Its PARAMS records still held are handed on by this decoder later.
   */
  #release(req: Req): void {
    const spans = req.spans;
    if (spans === null) return;
    req.spans = null;
    for (const item of redecode(this.#head, copySpans(this.#bytes, spans))) this.#onItem(item);
  }

  #recordItem(f: RecordFrame, req: Req | undefined, time: number, num: number): ReadItem {
    const rid = req?.rid;
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
      return this.#noteItem({
        note: 'record', time: Math.floor(time), pid: this.#head.pid, mode: this.#head.mode, conn: f.conn, dir: f.dir, type: f.type,
        requestId: f.requestId, contentLength: f.contentLength, paddingLength: f.paddingLength, rid, num: n, text,
      });
    }
    const pv = this.#head.preview;
    const head = this.#head;
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

  #noteItem(note: RecordNote): ExpandedItem {
    return new ExpandedItem(() => recordNoteEvent(note) as unknown as Event, () => recordNoteLine(note));
  }
}

const EMPTY = Buffer.alloc(0);

function isBody(type: number): boolean {
  return type === RecordType.Stdin || type === RecordType.Stdout || type === RecordType.Data;
}

/** paramPairs: the params as pairs, secret values shown redacted when the serving process masked them. */
function paramPairs(list: ParamList, masked: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  list.forEach((value, name) => out.push([name, masked && isSecretParamName(name) ? REDACTED : value]));
  return out;
}

/**
 * headOf: a response's status and headers from the head the mirror sent: a `Status:` first line
 * (what the adapters write), else 200; the headers after it, secret ones shown redacted.
 */
function headersFrom(req: Req): Array<[string, string]> {
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
    headers.push([name, req.headMasked && SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : line.slice(colon + 1).trim()]);
  }
  return headers;
}

const STATUS_LINE = /^status:\s*(\d{3})/i;

const STATUS_BYTES = Buffer.from('status:', 'latin1');

/** statusAt: the status of a response head at `b[from, to)` (`Status: NNN`, any case), 200 without one; read in place. */
function statusAt(b: Buffer, from: number, to: number): number {
  if (to - from < 11) return 200;
  for (let i = 0; i < 7; i++) if ((b[from + i]! | 0x20) !== STATUS_BYTES[i]) return 200;
  let i = from + 7;
  while (i < to && b[i] === 0x20) i++;
  if (i + 3 > to) return 200;
  let status = 0;
  for (let k = 0; k < 3; k++) {
    const d = b[i + k]! - 0x30;
    if (d < 0 || d > 9) return 200;
    status = status * 10 + d;
  }
  return status;
}

/** copySpans: a gathered request's frames (start, end, time triples) copied out of its line, each after a TIME frame: decodable on their own. */
function copySpans(bytes: Buffer, spans: number[]): Buffer {
  let size = 0;
  for (let i = 0; i < spans.length; i += 3) size += TIME_FRAME_BYTES + spans[i + 1]! - spans[i]!;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < spans.length; i += 3) {
    out[at] = FrameKind.time;
    out.writeDoubleLE(spans[i + 2]!, at + 1);
    at += TIME_FRAME_BYTES;
    at += bytes.copy(out, at, spans[i]!, spans[i + 1]!);
  }
  return out;
}

/**
 * redecode: a gathered request's frames (copySpans) decoded on their own into its events; PARAMS
 * records whose stream is not among them are handed on without their pair counts.
 */
function redecode(head: WireHead, frames: Buffer): ReadItem[] {
  const items: ReadItem[] = [];
  const decoder = new WireDecoder();
  decoder.decode(head, frames, (item) => {
    if (item.kind !== 'group') items.push(item);
  });
  decoder.flushAllHeld();
  return items;
}

function readU32(b: Buffer, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/**
 * WireSummary: a gathered request's summary (group-scan.ts GroupSummary); its method, uri, url
 * and mount point are read from its PARAMS stream when first asked for: the dashboard asks only
 * for the requests it keeps (most are evicted before a draw: requests.ts #pending).
 */
class WireSummary implements GroupSummary {
  level: number;
  time: number;
  pid: number;
  mode: string;
  rid: string;
  conn: number;
  requestId: number;
  records: number;
  hasStart = true;
  startAt: number;
  startTime: number;
  role: string;
  hasEnd = true;
  endAt: number;
  endTime: number;
  endLevel: number;
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  aborted: boolean;
  #bytes: Buffer | null;
  #at: number;
  #end: number;
  #head: WireHead;
  #target = { method: '', uri: '', url: '', mountPoint: '' };
  #msg = '';

  constructor(req: Req, head: WireHead, bytes: Buffer, endTime: number, level: number, status: number, durationMs: number, aborted: boolean) {
    this.level = level;
    this.time = Math.floor(req.startTime);
    this.pid = head.pid;
    this.mode = head.mode;
    this.rid = req.rid;
    this.conn = req.conn;
    this.requestId = req.requestId;
    this.records = req.records;
    this.startAt = req.startAt;
    this.startTime = Math.floor(req.startTime);
    this.role = req.role;
    this.endAt = req.records;
    this.endTime = endTime;
    this.endLevel = level;
    this.status = status;
    this.bytesIn = req.bytesIn;
    this.bytesOut = req.bytesOut;
    this.durationMs = durationMs;
    this.aborted = aborted;
    this.#bytes = bytes;
    this.#at = req.paramsAt;
    this.#end = req.paramsEnd;
    this.#head = head;
  }

  #read(): { method: string; uri: string; url: string; mountPoint: string } {
    const bytes = this.#bytes;
    if (bytes !== null) {
      this.#bytes = null;
      const t = targetOf(bytes.subarray(this.#at, this.#end), this.#head);
      if (t !== undefined) this.#target = t;
      this.#msg = `${this.#target.method} ${this.#target.uri} ${this.aborted ? 'aborted' : this.status} ${this.durationMs.toFixed(1)}ms`;
    }
    return this.#target;
  }

  get msg(): string {
    this.#read();
    return this.#msg;
  }

  get method(): string {
    return this.#read().method;
  }

  get uri(): string {
    return this.#read().uri;
  }

  get url(): string {
    return this.#read().url;
  }

  get mountPoint(): string {
    return this.#read().mountPoint;
  }
}

/** targetOf: a PARAMS stream's method and request target as the serving process mapped them; undefined when it did not start the request. */
function targetOf(bytes: Buffer, head: WireHead): { method: string; uri: string; url: string; mountPoint: string } | undefined {
  try {
    const list = decodeParamList(bytes, READER_LIMITS);
    const method = list.get('REQUEST_METHOD');
    if (!method) return undefined;
    parseContentLength(list.get('CONTENT_LENGTH'));
    const t = resolveTarget(list, head.strip, head.script);
    return { method, uri: t.originalUrl, url: t.url, mountPoint: t.mountPoint };
  } catch {
    return undefined;
  }
}

