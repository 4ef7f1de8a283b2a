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
import { RecordType, roleName } from '../protocol/constants';
import { Level, type TraceEvent } from './events';
import { ExpandedItem } from './group-expand';
import type { GroupItem } from './group-scan';
import { NO_DELTA, pairsJson } from './json-line';
import type { ReadItem } from './reader';
import { countPairs } from './record-event';
import { endLine, startLine } from './request-events';
import { headersFrom, noteItem, paramPairs, type RecordFrame, recordItem } from './wire-events';
import {
  CLOSE_FRAME_BYTES, CONT_FRAME_BYTES, FrameFlag, FrameKind, PARAMS_DELTA_FRAME_BYTES, PARAMS_FRAME_BYTES, rebuildParams, RECORD_FRAME_BYTES, TIME_FRAME_BYTES, type WireHead,
} from './wire-format';
import { READER_LIMITS, statusAt, WireSummary } from './wire-summary';

type Obj = Record<string, unknown>;
type Event = TraceEvent & Obj;

const never = (): boolean => false;

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
   * paramsBase, paramsPrefix, paramsSuffix: for params that came as a DELTA frame, the base it
   * changes (paramsAt..paramsEnd is then the changed middle): paramsStream() rebuilds the stream.
   */
  paramsBase: Buffer | null;
  paramsPrefix: number;
  paramsSuffix: number;
  /**
   * gathered: with summaries, the request may still become one group (false once handed on).
   * Where its frames start in this line is a chain in the line's span list (SpanList): from
   * spanHead to spanTail. Its events are made only if asked for, by decoding a copy of those
   * frames again (#group says why). One number a frame: its end is in its head, its time found by
   * walking the line from the first, whose time is spansTime (copySpans): a third of what a
   * summary kept until a draw (bench/README, trace, "Seventh session").
   */
  gathered: boolean;
  spanHead: number;
  spanTail: number;
  spansTime: number;
  records: number;
  startAt: number;
}

/** Piece: a record arriving in pieces, until its last piece. */
interface Piece {
  frame: RecordFrame;
  bytes: Buffer[];
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
  /**
   * #spans: the span list of the line being decoded (made with its first gathered request; a new
   * one per line, since its summaries keep it).
   */
  #spans: SpanList | null = null;
  #spansLength = 0;
  /** #paramsBase: the last whole PARAMS stream of this connection's lines (a copy), which DELTA frames change. */
  #paramsBase: Buffer | null = null;

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
      this.#spans = null;
      this.#spansLength = 0;
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
            if (req !== undefined && req.gathered) {
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
          // The next DELTA frames change this stream (a copy: a line is not kept for its base).
          this.#paramsBase = Buffer.from(b.subarray(at + PARAMS_FRAME_BYTES, end));
          this.#params(readU32(b, at + 2), readU32(b, at + 6), b[at + 10]! | (b[at + 11]! << 8), (b[at + 1]! & FrameFlag.masked) !== 0,
            at + PARAMS_FRAME_BYTES, null, 0, 0);
          at = end;
          break;
        }
        case FrameKind.paramsDelta: {
          if (at + PARAMS_DELTA_FRAME_BYTES > b.length) return;
          const n = b.readUInt32LE(at + 20);
          const end = at + PARAMS_DELTA_FRAME_BYTES + n;
          if (end > b.length) return;
          this.#frameStart = at;
          this.#frameEnd = end;
          const base = this.#paramsBase;
          const p = b.readUInt32LE(at + 12);
          const s = b.readUInt32LE(at + 16);
          // Without its base (none yet, or not the one it was made against) the request has no params.
          if (base !== null && p + s <= base.length) {
            this.#params(readU32(b, at + 2), readU32(b, at + 6), b[at + 10]! | (b[at + 11]! << 8), (b[at + 1]! & FrameFlag.masked) !== 0,
              at + PARAMS_DELTA_FRAME_BYTES, base, p, s);
          }
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
      status: 200, gathered: false, spanHead: -1, spanTail: -1, spansTime: 0, records: 0, startAt: 0, paramsAt: -1, paramsEnd: -1, paramsMasked: false,
      paramsBase: null, paramsPrefix: 0, paramsSuffix: 0,
    };
    if (begin && this.#summaries) {
      req.gathered = true;
      req.spansTime = this.#time;
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
    this.#span(req, at);
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
    this.#onItem(recordItem(f, req?.rid, time, -1, this.#head));
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
      this.#onItem(noteItem({
        note: 'record', time: Math.floor(h.time), pid: this.#head.pid, mode: this.#head.mode, conn: req.conn, dir: 'in', type: RecordType.Params,
        requestId: req.requestId, contentLength: h.contentLength, paddingLength: h.paddingLength, rid: req.rid, num, text: '',
      }));
    }
  }

  /**
   * #params: a request's PARAMS stream: the frame's bytes from `from` to its end, or (`base` not
   * null) the base's first p bytes, those and its last s. Offsets, not a view: a gathered request
   * (nearly all) needs none.
   */
  #params(conn: number, rid: number, requestId: number, masked: boolean, from: number, base: Buffer | null, p: number, s: number): void {
    const req = this.#req(conn, requestId, rid, false);
    if (req === undefined) return;
    if (req.gathered) {
      // Gathered: the request counts as started; its method, uri and url are read when its summary is (WireSummary).
      if (req.started) return;
      this.#span(req, this.#frameStart);
      req.started = true;
      req.startTime = this.#time;
      req.startAt = req.records;
      req.paramsAt = this.#frameStart + PARAMS_FRAME_BYTES;
      req.paramsEnd = this.#frameEnd;
      req.paramsMasked = masked;
      if (base !== null) {
        req.paramsAt = this.#frameStart + PARAMS_DELTA_FRAME_BYTES;
        req.paramsBase = base;
        req.paramsPrefix = p;
        req.paramsSuffix = s;
      }
      return;
    }
    const bytes = this.#bytes.subarray(from, this.#frameEnd);
    const own = base === null ? Buffer.from(bytes) : rebuildParams(base, p, bytes, s);
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
    if (req.gathered && req.started) {
      req.gathered = false;
      // One object, the summary and its item (wire-summary.ts says why).
      this.#onItem(new WireSummary(req, this.#head, this.#bytes, this.#spans!, expandSpans, Math.floor(time), level, status, durationMs, aborted));
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
    if (!req.gathered) return;
    req.gathered = false;
    if (req.spanHead === -1) return;
    for (const item of redecode(this.#head, copySpans(this.#bytes, this.#spans!, req.spanHead, req.spansTime, req.paramsBase))) this.#onItem(item);
  }

  /**
   * #span: a gathered request's frame at `at` appended to its chain in the line's span list. One
   * list per line, outside the JS heap, instead of an array per request: a hello request's array
   * grew to 16 numbers for its 8 frames (V8's first growth), ~180 bytes of young generation per
   * request, kept by its summary while pending, i.e. copied by the scavenges (a JS array per
   * line, grown by push, allocated more: bench/README, trace, "Eighth session"). Sized for the
   * line's frames at their smallest record size (a PARAMS frame can be smaller: then it grows).
   */
  #span(req: Req, at: number): void {
    let list = this.#spans;
    const i = this.#spansLength;
    if (list === null || i + 2 > list.length) {
      const grown = new Int32Array(list === null ? 2 * Math.ceil(this.#bytes.length / RECORD_FRAME_BYTES) + 8 : list.length * 2);
      if (list !== null) grown.set(list);
      this.#spans = list = grown;
    }
    list[i] = at;
    list[i + 1] = -1;
    this.#spansLength = i + 2;
    if (req.spanTail === -1) req.spanHead = i;
    else list[req.spanTail + 1] = i;
    req.spanTail = i;
  }

}

const EMPTY = Buffer.alloc(0);

/**
 * SpanList: where gathered requests' frames start in a line, as chains: at an even index `i` a
 * frame's start, at `i + 1` the index of the request's next one (-1 after its last).
 */
export type SpanList = Int32Array;

/**
 * copySpans: a gathered request's frames (the chain from `first` in `spans`) copied out of its line, each
 * after a TIME frame with its time (`time` at the first, then as the line's TIME frames between
 * them say): decodable on their own. A DELTA frame is copied as the whole PARAMS frame it stands
 * for (`base`: the base it changes), since the decoder it goes to has no base. The frames were all
 * decoded once (the line up to the last of them fits), so their heads can be trusted here.
 */
function copySpans(bytes: Buffer, spans: SpanList, first: number, time: number, base: Buffer | null): Buffer {
  let size = 0;
  for (let i = first; i !== -1; i = spans[i + 1]!) {
    const start = spans[i]!;
    size += TIME_FRAME_BYTES + (bytes[start] === FrameKind.paramsDelta ? deltaAsParamsBytes(bytes, start, base) : frameEnd(bytes, start) - start);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let walked = first !== -1 ? spans[first]! : 0;
  for (let i = first; i !== -1; i = spans[i + 1]!) {
    const start = spans[i]!;
    // The time of this frame: the last TIME frame between the previous one and it.
    while (walked < start) {
      if (bytes[walked] === FrameKind.time) time = bytes.readDoubleLE(walked + 1);
      walked = frameEnd(bytes, walked);
    }
    const end = frameEnd(bytes, start);
    walked = end;
    out[at] = FrameKind.time;
    out.writeDoubleLE(time, at + 1);
    at += TIME_FRAME_BYTES;
    if (bytes[start] !== FrameKind.paramsDelta) {
      at += bytes.copy(out, at, start, end);
      continue;
    }
    if (base === null) continue;
    const stream = rebuildParams(base, bytes.readUInt32LE(start + 12), bytes.subarray(start + PARAMS_DELTA_FRAME_BYTES, end),
      bytes.readUInt32LE(start + 16));
    out[at] = FrameKind.params;
    bytes.copy(out, at + 1, start + 1, start + 12); // flags, conn, rid, requestId
    out.writeUInt32LE(stream.length, at + 12);
    at += PARAMS_FRAME_BYTES;
    at += stream.copy(out, at);
  }
  return out;
}

/** frameEnd: where the frame at `at` ends (its head read as #frames reads it), or the end of `b` for a kind it does not know. */
function frameEnd(b: Buffer, at: number): number {
  switch (b[at]) {
    case FrameKind.time: return at + TIME_FRAME_BYTES;
    case FrameKind.recordIn:
    case FrameKind.recordOut: return at + RECORD_FRAME_BYTES + b.readUInt32LE(at + 18);
    case FrameKind.cont: return at + CONT_FRAME_BYTES + b.readUInt32LE(at + 6);
    case FrameKind.params: return at + PARAMS_FRAME_BYTES + b.readUInt32LE(at + 12);
    case FrameKind.close: return at + CLOSE_FRAME_BYTES;
    case FrameKind.paramsDelta: return at + PARAMS_DELTA_FRAME_BYTES + b.readUInt32LE(at + 20);
    default: return b.length;
  }
}

/** deltaAsParamsBytes: the size of the PARAMS frame a DELTA frame at `start` stands for (0 without its base). */
function deltaAsParamsBytes(bytes: Buffer, start: number, base: Buffer | null): number {
  if (base === null) return 0;
  return PARAMS_FRAME_BYTES + bytes.readUInt32LE(start + 12) + bytes.readUInt32LE(start + 20) + bytes.readUInt32LE(start + 16);
}


/** expandSpans: a gathered request's events, from its frames in a line (WireSummary#expand). */
function expandSpans(head: WireHead, bytes: Buffer, spans: SpanList, first: number, time: number, base: Buffer | null): ReadItem[] {
  return redecode(head, copySpans(bytes, spans, first, time, base));
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
