import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RoleName } from '../handlers/exchange';
import {
  FCGI_HEADER_LEN, FCGI_KEEP_CONN, FCGI_MAX_ALIGNED_CONTENT, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS,
  FCGI_NULL_REQUEST_ID, ProtocolStatus, RecordType, Role,
} from '../protocol/constants';
import { decodeBeginRequestBody } from '../protocol/bodies';
import { encodeGetValuesResult, encodeUnknownType, paddingFor, writeEndRequest, writeHeader } from '../protocol/encode';
import { ProtocolError } from '../protocol/errors';
import { decodePairs } from '../protocol/pairs';
import { type FastCGIRecord, RecordDecoder } from '../protocol/record';
import { ConnectionError } from './errors';
import type { ConnectionLimits } from './limits';
import { OwnBufferReader } from './own-buffer-reader';
import { decodeParamList } from './param-list';
import { FcgiRequest, type RequestTransport } from './request';
import type { WireMirror } from '../trace/wire-mirror';

/** ConnectionObserver: hooks for tracing; each is optional and checked before any work is done. */
export interface ConnectionObserver {
  /** enabled: checked before any event object is built (tracing off costs this call). */
  enabled(): boolean;
  /**
   * record: one event per record. A stream record that arrives in pieces is given once, when its
   * last piece is in, with `content` holding its first `headBytes` bytes (its preview), not its
   * last piece.
   */
  record?(conn: Connection, dir: 'in' | 'out', record: FastCGIRecord, rid: string | undefined): void;
  /** headBytes: how much of a record that arrives in pieces the record event needs. Default 256. */
  headBytes?: number;
  /**
   * wire: the wire mirror while a trace socket listens (trace/wire-mirror.ts), else null: records
   * are then appended to it as bytes, and `record` is not called. A field the trace module sets
   * when its sink connects and disconnects, not a call: with tracing compiled in and nobody
   * listening, each record, read and flush asks it (one property read; bench/README "trace",
   * seventh round).
   */
  wire?: WireMirror | null;
  error?(conn: Connection | null, err: Error, phase: string, requestId?: number): void;
  open?(conn: Connection): void;
  close?(conn: Connection): void;
}

/** ResponderContext: options normalised once by the server; connections only read it. */
export interface ResponderContext {
  maxConns: number;
  maxReqs: number;
  multiplex: boolean;
  maxParamsBytes: number;
  limits: ConnectionLimits;
  /** inFlight: requests in flight in this process, across connections (FCGI_MAX_REQS). */
  inFlight: { count: number };
  draining: boolean;
  onRequest(request: FcgiRequest, conn: Connection): void;
  observer: ConnectionObserver | null;
  /**
   * ownBufferReads: read accepted sockets into a buffer of the connection's own (OwnBufferReader)
   * instead of 'data' events; off when something else listens to the socket's 'data'.
   */
  ownBufferReads: boolean;
}

const roles: Record<number, RoleName> = {
  [Role.Responder]: 'RESPONDER',
  [Role.Authorizer]: 'AUTHORIZER',
  [Role.Filter]: 'FILTER',
};

/** Buffer's own encoders (undocumented, in every Node since 0.x): no argument parsing, no lookup. */
interface DirectWritable {
  latin1Write(text: string, offset: number, length: number): number;
  utf8Write(text: string, offset: number, length: number): number;
}

/** Chunks up to this size are copied next to their header; larger ones are written in place. */
const COPY_THRESHOLD = 16 * 1024;
const ZERO_PADDING = Buffer.alloc(8);
/** SLAB_SIZE: per-connection output slab; a batch that would not fit is flushed first. */
const SLAB_SIZE = 64 * 1024;
const EMPTY_SLAB = Buffer.alloc(0);
/** RESOLVED: the settled promise #queueFlush hangs this turn's flush on. */
const RESOLVED = Promise.resolve();

let nextConnectionId = 1;

/**
 * RequestTable: a connection's requests in flight, by id. Usually there is one (nginx sends one
 * at a time on a kept connection): it has a slot of its own, and a Map is made only for a second.
 * A Map going from one entry to none and back per request reallocated its table both ways (V8
 * shrinks an emptied OrderedHashMap): 7% of the bytes a request allocated in micro.js raw.
 */
class RequestTable {
  #one: FcgiRequest | null = null;
  #more: Map<number, FcgiRequest> | null = null;
  size = 0;

  get(requestId: number): FcgiRequest | undefined {
    const one = this.#one;
    if (one !== null && one.requestId === requestId) return one;
    return this.#more === null ? undefined : this.#more.get(requestId);
  }

  /** set: a request whose id is not in the table (the connection checks first). */
  set(requestId: number, request: FcgiRequest): void {
    if (this.#one === null) this.#one = request;
    else (this.#more ??= new Map()).set(requestId, request);
    this.size++;
  }

  delete(requestId: number): void {
    if (this.#one !== null && this.#one.requestId === requestId) {
      this.#one = null;
      this.size--;
    } else if (this.#more !== null && this.#more.delete(requestId)) {
      this.size--;
    }
  }

  /** values: a copy of the requests in flight (safe to change the table while walking it). */
  values(): FcgiRequest[] {
    const out: FcgiRequest[] = this.#one === null ? [] : [this.#one];
    if (this.#more !== null) for (const request of this.#more.values()) out.push(request);
    return out;
  }

  clear(): void {
    this.#one = null;
    this.#more?.clear();
    this.size = 0;
  }
}

/**
 * Connection: one transport connection from a web server. Decodes records, applies the protocol
 * policy (one switch, #handleRecord), and writes records with the socket's backpressure.
 */
export class Connection implements RequestTransport {
  readonly id = nextConnectionId++;
  readonly socket: Socket;
  /**
   * lastActive, idleBytes: kept by FastCGIServer (server.ts): when this connection was accepted or
   * last began a request (by coarse-clock.ts), and bytesReceived when it last became idle. Fields,
   * not the server's WeakMaps: two WeakMap sets per request were ~0.15 us of a hello request
   * (bench/README.md, nginx, "seventh session").
   */
  lastActive = 0;
  idleBytes = 0;
  /**
   * bytesReceived: bytes this connection has read, counted here: what server.ts compares to
   * idleBytes. socket.bytesRead is a C++ accessor, and the server read it after every response
   * (bench/README.md, nginx, "Seventh session, second round").
   */
  bytesReceived = 0;
  #ctx: ResponderContext;
  #decoder: RecordDecoder;
  #requests = new RequestTable();
  #pausedFor = new Set<FcgiRequest>();
  #drainWaiters: Array<() => void> = [];
  #closed = false;
  /** #closedBy: why this side closed the connection (#fail, cutOff); its requests are aborted with it. */
  #closedBy: ConnectionError | null = null;
  /** #ending: end() was called; no more reading or writing on this connection. */
  #ending = false;
  #writeTimer: NodeJS.Timeout | null = null;
  /**
   * Output batching: this turn's small records (a response's STDOUT, then its END_REQUEST, which
   * node:http produces a few ticks apart) are encoded side by side into #slab and leave in one
   * socket.write once the tick queue is done. One write of one buffer costs a syscall and no writev
   * bookkeeping: writev and cork/uncork were 12% of a hello request's CPU (bench/ nginx suite).
   */
  #slab: Buffer = EMPTY_SLAB;
  /** #slabUsed: bytes of #slab handed to the socket (earlier batches); #batchEnd: end of this batch. */
  #slabUsed = 0;
  #batchEnd = 0;
  /**
   * Slab reuse: a full slab is used again from its start once the socket has written every batch
   * taken from it (#slabInFlight: its writes not yet done), or the one before it once that one's
   * writes are done (#spare, #spareInFlight). Socket writes complete in order, so a completion
   * belongs to the older slab while that has writes left (#slabWriteDone).
   * Why: a new 64 KiB slab every ~600 hello responses left dead slabs outside the JS heap, freed
   * only by a full GC; with little JS garbage per request V8 ran one every ~400k requests, and the
   * serving process's RSS climbed 65 -> 130 MiB (bench/ memory suite, --trace-gc of the backend).
   * Not while tracing: record events may hold views of the slab.
   */
  #slabInFlight = 0;
  #spare: Buffer | null = null;
  #spareInFlight = 0;
  readonly #slabWriteDone = (): void => {
    if (this.#spareInFlight > 0) this.#spareInFlight--;
    else this.#slabInFlight--;
  };
  #batchCallbacks: Array<(err?: Error | null) => void> | null = null;
  /** #view, #viewStart, #viewSlab: the view the last batch left as, where it starts, and in which slab (see #flush). */
  #view: Buffer = EMPTY_SLAB;
  #viewStart = 0;
  #viewSlab: Buffer = EMPTY_SLAB;
  /**
   * #lastRecordAt: where in #slab the batch's last record starts while it is a STDOUT record that
   * may still grow (#growLastRecord); -1 once anything follows it or the batch has left (the
   * socket holds a view of the bytes from then on: they must not change).
   */
  #lastRecordAt = -1;
  #flushQueued = false;
  /** #corked: a large record corked the socket for the rest of this turn (see #writeRecord). */
  #corked = false;
  readonly #endOfTurnBound = (): void => this.#endOfTurn();
  /** #pendingParams: requests whose PARAMS stream is not complete yet (the params timer watches them). */
  #pendingParams = 0;
  #paramsTimer: NodeJS.Timeout | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  /** #idleBytes: bytes read and written when the idle timer last looked (see #armIdleTimer). */
  #idleBytes = 0;
  /**
   * #endedRids: rids of requests already ended, by id, while tracing: a web server's empty STDIN
   * can arrive after END_REQUEST, and its record event should still name its request.
   */
  #endedRids = new Map<number, string>();
  /** #pieceHead: while tracing, the first bytes of the stream record arriving in pieces (its preview). */
  #pieceHead: Buffer | null = null;
  /** #pieceOpen, #pieceSent: with the wire mirror, a record arriving in pieces is open, and how much of it went. */
  #pieceOpen = false;
  #pieceSent = 0;
  /** #lastMirrorAt, #lastMirrorGeneration: the wire mirror's frame of the record at #lastRecordAt (WireMirror#grow), or -1. */
  #lastMirrorAt = -1;
  #lastMirrorGeneration = 0;
  /** #merged: the last #batchRecord added to the record before it instead of making one. */
  #merged = false;
  #closeAfterRequests = false;
  /** #readingHeld: reading stopped until the socket drains (see #holdReading). */
  #readingHeld = false;
  #onClose: Array<() => void> = [];
  /**
   * #readKept: this read's bytes may be viewed after it (a body piece went to a request, a record
   * event was published): with an OwnBufferReader, the next read must not overwrite them.
   */
  #readKept = false;

  constructor(socket: Socket, ctx: ResponderContext) {
    this.socket = socket;
    this.#ctx = ctx;
    // streamPieces: request bodies are never copied to gather a record cut by a chunk end.
    this.#decoder = new RecordDecoder((record) => this.#handleRecord(record), { streamPieces: true });
    const onBytes = (buffer: Buffer, end: number): void => this.#socketOnData(buffer, end);
    if (!ctx.ownBufferReads || OwnBufferReader.install(socket, onBytes, () => this.#keepsRead()) === null) {
      socket.on('data', (chunk: Buffer) => this.#socketOnData(chunk, chunk.length));
    }
    socket.on('drain', () => this.#socketOnDrain());
    socket.on('error', (err) => this.#socketOnError(err));
    socket.on('close', () => this.#socketOnClose());
    this.#armIdleTimer();
  }

  /**
   * #armIdleTimer: idle connections are closed: no bytes either way and nothing in flight for
   * idleTimeoutMs (a slow handler is the app's business, and the web server's timeout). The check
   * runs every idleTimeoutMs and compares the socket's byte counts, so a connection goes after
   * between one and two periods of quiet.
   * Why not socket.setTimeout: net refreshes that timer on every read and write (a timer list
   * re-insert and a clock read each: _unrefTimer, refresh, insert in --cpu-prof of the serving
   * process under the nginx hello load, ~1% of its busy time).
   */
  #armIdleTimer(): void {
    this.#idleTimer = setTimeout(() => this.#idleTimerFired(), this.#ctx.limits.idleTimeoutMs);
    this.#idleTimer.unref();
  }

  #idleTimerFired(): void {
    if (this.#closed || this.#ending) return;
    const bytes = (this.socket.bytesRead ?? 0) + (this.socket.bytesWritten ?? 0);
    if (this.#requests.size > 0 || bytes !== this.#idleBytes) {
      this.#idleBytes = bytes;
      this.#armIdleTimer();
      return;
    }
    this.#fail(new ConnectionError('FCGI_ERR_IDLE_TIMEOUT', `no request for ${this.#ctx.limits.idleTimeoutMs} ms`), 'idle');
  }

  /** requestCount: requests in flight on this connection. */
  get requestCount(): number {
    return this.#requests.size;
  }

  /** whenClosed: `fn` runs once the socket has closed. */
  whenClosed(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  /** closeWhenIdle: close now if no request is in flight, else after the last one ends (graceful). */
  closeWhenIdle(): void {
    this.#closeAfterRequests = true;
    if (this.#requests.size === 0) this.#endSocket();
  }

  /**
   * #endSocket: the connection is done (no KEEP_CONN, or draining). Whatever the web server sends
   * after this is not read: nothing may be written after end().
   */
  #endSocket(): void {
    this.#endOfTurn(); // what this turn batched goes before the FIN
    this.#ending = true;
    this.socket.end();
  }

  /** #socketOnData: bytes read: `chunk` up to `end` (a connection's own read buffer is larger). */
  #socketOnData(chunk: Buffer, end: number): void {
    this.bytesReceived += end;
    if (this.#ending) return;
    // One time stamp per read for the wire mirror's frames (taken when the first one is written).
    this.#ctx.observer?.wire?.startRead();
    try {
      this.#decoder.push(chunk, end);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)), 'decode');
      return;
    }
    // PARAMS usually complete in the chunk that began the request: a timer is armed only when
    // one did not (a per-request setTimeout/clearTimeout pair was 3% of a hello request).
    if (this.#pendingParams > 0) this.#watchPendingParams();
  }

  /** #watchPendingParams: requests whose PARAMS are still incomplete get their start time, and the timer runs. */
  #watchPendingParams(): void {
    const now = performance.now();
    for (const request of this.#requests.values()) {
      if (!request.paramsComplete && request.beganAt === 0) request.beganAt = now;
    }
    if (this.#paramsTimer === null) this.#armParamsTimer(this.#ctx.limits.paramsTimeoutMs);
  }

  /**
   * #keepsRead: whether views of the bytes just read may be used later: body pieces handed on,
   * record events published, PARAMS streams not complete yet (ParamsStream keeps views), or input
   * the decoder holds. Asked by OwnBufferReader after each read.
   */
  #keepsRead(): boolean {
    const kept = this.#readKept || this.#pendingParams > 0 || this.#decoder.holdsInput;
    this.#readKept = false;
    return kept;
  }

  #armParamsTimer(ms: number): void {
    this.#paramsTimer = setTimeout(() => this.#paramsTimerFired(), ms);
    this.#paramsTimer.unref();
  }

  /** #paramsTimerFired: requests whose PARAMS have not completed within paramsTimeoutMs get a 408. */
  #paramsTimerFired(): void {
    this.#paramsTimer = null;
    const timeout = this.#ctx.limits.paramsTimeoutMs;
    const now = performance.now();
    let next = Infinity;
    for (const request of this.#requests.values()) {
      if (request.paramsComplete) continue;
      const age = now - request.beganAt;
      if (age >= timeout) this.#paramsTimedOut(request);
      else next = Math.min(next, timeout - age);
    }
    if (next !== Infinity && !this.#closed && !this.#ending) this.#armParamsTimer(next);
  }

  #socketOnDrain(): void {
    if (this.#writeTimer !== null) {
      clearTimeout(this.#writeTimer);
      this.#writeTimer = null;
    }
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const fn of waiters) fn();
  }

  #socketOnError(err: Error): void {
    // EPIPE/ECONNRESET after the web server closed its end is normal (nginx closes kept-alive
    // connections right after STDOUT); 'close' follows and aborts what is left.
    if (this.#ctx.observer?.enabled()) this.#ctx.observer.error?.(this, err, 'socket');
  }

  #socketOnClose(): void {
    this.#closed = true;
    this.#ctx.observer?.wire?.close(this.id);
    const lost = this.#closedBy ?? new ConnectionError('FCGI_ERR_CONNECTION_LOST', 'web server closed the connection');
    const requests = this.#requests.values();
    this.#requests.clear();
    this.#ctx.inFlight.count -= requests.length;
    for (const request of requests) request.abort(lost, false);
    this.#pausedFor.clear();
    this.#pendingParams = 0;
    if (this.#paramsTimer !== null) clearTimeout(this.#paramsTimer);
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#socketOnDrain(); // release writers waiting for a drain that will never come
    for (const fn of this.#onClose) fn();
    this.#onClose = [];
  }

  /** #fail: a framing or policy error: this connection cannot go on; other connections are unaffected. */
  #fail(err: Error, phase: string): void {
    if (this.#ctx.observer?.enabled()) this.#ctx.observer.error?.(this, err, phase);
    if (err instanceof ConnectionError) this.#closedBy ??= err;
    this.socket.destroy();
  }

  /**
   * cutOff: close the connection from this side (a drain that ran out, server.ts): its requests
   * are aborted with `err`. They were aborted as 'web server closed the connection', which sent
   * whoever read the trace looking at the web server for what this process did.
   */
  cutOff(err: ConnectionError): void {
    this.#closedBy ??= err;
    this.socket.destroy();
  }

  /**
   * #handleRecord: the protocol policy in one place (spec sections 3.3, 4, 5; Go child.handleRecord).
   * Unknown request ids are ignored; unknown types get UNKNOWN_TYPE; a duplicate BEGIN_REQUEST
   * closes the connection.
   */
  #handleRecord(record: FastCGIRecord): void {
    if (this.#ending) return; // records after our end() in the same chunk: nobody will read a reply
    const { type, requestId } = record;
    // BEGIN_REQUEST is observed once its request exists, so the event carries the request's rid.
    // A record that arrives in pieces is traced once, when its last piece is in (#observePiece).
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror !== null) this.#mirrorIn(mirror, record);
    else if (record.partial === true || this.#pieceHead !== null) this.#observePiece(record);
    else if (type !== RecordType.BeginRequest || requestId === FCGI_NULL_REQUEST_ID) this.#observe('in', record, requestId);
    if (requestId === FCGI_NULL_REQUEST_ID) {
      if (type === RecordType.GetValues) this.#answerGetValues(record.content);
      else this.#write(encodeUnknownType(type)); // spec 4.2: unknown management record
      return;
    }
    const request = this.#requests.get(requestId);
    switch (type) {
      case RecordType.BeginRequest:
        if (request) {
          this.#fail(new ConnectionError('FCGI_ERR_DUPLICATE_REQUEST', `BEGIN_REQUEST for request ${requestId} already in flight`), 'policy');
          return;
        }
        this.#begin(record);
        return;
      case RecordType.AbortRequest:
        // END_REQUEST goes out at once; the handler learns of it through its abort listeners.
        if (request) request.abort(new ConnectionError('FCGI_ERR_ABORTED', 'web server sent ABORT_REQUEST'), true);
        return;
      case RecordType.Params:
        if (request && !request.paramsComplete) this.#params(request, record.content);
        return;
      case RecordType.Stdin:
        if (request) {
          if (record.content.length > 0) this.#readKept = true;
          request.pushBody(record.content);
        }
        return;
      case RecordType.Data:
        // Only the Filter role reads FCGI_DATA (spec 6.4); for others it is ignored, like an unknown id.
        if (request?.role === 'FILTER') {
          if (record.content.length > 0) this.#readKept = true;
          request.pushData(record.content);
        }
        return;
      case RecordType.EndRequest:
      case RecordType.Stdout:
      case RecordType.Stderr:
      case RecordType.GetValuesResult:
      case RecordType.UnknownType:
        // Application-to-server types: known, but meaningless in this direction. Ignored.
        return;
      default:
        this.#write(encodeUnknownType(type));
    }
  }

  #begin(record: FastCGIRecord): void {
    const requestId = record.requestId;
    this.#endedRids.delete(requestId);
    let body;
    try {
      body = decodeBeginRequestBody(record.content);
    } catch (err) {
      this.#observe('in', record, requestId);
      this.#fail(err as ProtocolError, 'decode');
      return;
    }
    const role = roles[body.role];
    const keepConn = (body.flags & FCGI_KEEP_CONN) !== 0;
    let refusal: ProtocolStatus | null = null;
    if (role === undefined) refusal = ProtocolStatus.UnknownRole;
    else if (!this.#ctx.multiplex && this.#requests.size > 0) refusal = ProtocolStatus.CantMpxConn;
    else if (this.#requests.size >= this.#ctx.limits.maxRequestsPerConn) refusal = ProtocolStatus.Overloaded;
    else if (this.#ctx.inFlight.count >= this.#ctx.maxReqs || this.#ctx.draining) refusal = ProtocolStatus.Overloaded;
    if (refusal !== null) {
      this.#observe('in', record, requestId);
      this.#writeEndRequest(requestId, 0, refusal, false, undefined);
      if (!keepConn && this.#requests.size === 0) this.#endSocket();
      else if (this.socket.writableLength >= this.socket.writableHighWaterMark) this.#holdReading();
      return;
    }
    const request = new FcgiRequest(this, requestId, role!, keepConn, this.#ctx.maxParamsBytes, this.#ctx.limits.maxBodyBytes);
    this.#requests.set(requestId, request);
    this.#pendingParams++;
    this.#ctx.inFlight.count++;
    if (this.#ctx.observer?.wire) request.wire = true;
    this.#observe('in', record, requestId);
  }

  /**
   * #observePiece: a piece of a stream record (the decoder hands bodies on in pieces, never
   * gathered). While tracing, the record's first bytes are kept, so its one event, sent with the
   * last piece, previews the start of the record rather than its last piece.
   */
  #observePiece(record: FastCGIRecord): void {
    const observer = this.#ctx.observer;
    const head = this.#pieceHead;
    if (record.partial === true) {
      if (!observer?.record || !observer.enabled()) return;
      const want = observer.headBytes ?? 256;
      if (head === null) this.#pieceHead = Buffer.from(record.content.subarray(0, want));
      else if (head.length < want) this.#pieceHead = Buffer.concat([head, record.content.subarray(0, want - head.length)]);
      return;
    }
    this.#pieceHead = null;
    const want = observer?.headBytes ?? 256;
    const content = head === null ? record.content
      : head.length >= want ? head : Buffer.concat([head, record.content.subarray(0, want - head.length)]);
    this.#observe('in', head === null ? record : { ...record, content }, record.requestId);
  }

  /**
   * #mirrorIn: a record read, appended to the wire mirror as bytes (a copy: nothing of the read is
   * kept, so the own read buffer is reused as untraced). A record in pieces is one frame at its
   * first piece and a CONT per later piece that carries preview bytes, and one for its last.
   * BEGIN_REQUEST is appended by #begin, once its request (and rid) exists.
   */
  #mirrorIn(mirror: WireMirror, record: FastCGIRecord): void {
    this.#pieceHead = null;
    const { type, requestId } = record;
    if (this.#pieceOpen) {
      const last = record.partial !== true;
      this.#pieceSent = mirror.cont(this.id, type, record.content, this.#pieceSent, last);
      if (last) this.#pieceOpen = false;
      return;
    }
    if (type === RecordType.BeginRequest && requestId !== FCGI_NULL_REQUEST_ID) return;
    const piece = record.partial === true;
    this.#pieceSent = mirror.recordIn(this.id, this.#requests.get(requestId)?.ridNumber ?? 0, type, requestId, record.contentLength,
      record.paddingLength, record.content, piece);
    this.#pieceOpen = piece;
  }

  /** #observe: a record event, built only when someone traces. */
  #observe(dir: 'in' | 'out', record: FastCGIRecord, requestId: number, rid?: string): void {
    const observer = this.#ctx.observer;
    const mirror = observer?.wire ?? null;
    if (mirror !== null) {
      // Only BEGIN_REQUEST comes here with the mirror on (#begin, once its request exists).
      mirror.recordIn(this.id, this.#requests.get(requestId)?.ridNumber ?? 0, record.type, requestId, record.contentLength,
        record.paddingLength, record.content, false);
      return;
    }
    if (!observer?.record || !observer.enabled()) return;
    this.#readKept = true; // the event may hold a view of the content
    observer.record(this, dir, record, rid ?? this.#requests.get(requestId)?.rid ?? this.#endedRids.get(requestId));
  }

  /** #notes: record events are built (someone traces, and not through the wire mirror). */
  #notes(): boolean {
    const observer = this.#ctx.observer;
    return observer !== null && observer.enabled() && (observer.wire ?? null) === null;
  }

  /** #mirrorOut: a record written, appended to the wire mirror (its content at `src[from...]`); kept growable (#growLastRecord). */
  #mirrorOut(mirror: WireMirror, type: number, requestId: number, length: number, padding: number, src: Buffer, from: number): void {
    const request = this.#requests.get(requestId);
    this.#lastMirrorAt = mirror.recordOut(this.id, request?.ridNumber ?? 0, type, requestId, length, padding, src, from,
      request !== undefined && request.wire ? request : null);
    this.#lastMirrorGeneration = mirror.generation;
  }

  #params(request: FcgiRequest, content: Buffer): void {
    try {
      if (content.length > 0) {
        request.paramsStream.append(content);
        return;
      }
      const bytes = request.paramsStream.bytes();
      const list = decodeParamList(bytes, this.#ctx.limits);
      request.setParams(list);
      if (request.wire) this.#ctx.observer?.wire?.params(this.id, request.ridNumber, request.requestId, bytes, list);
    } catch (err) {
      this.#refuseParams(request, err as ProtocolError | ConnectionError);
      return;
    }
    this.#paramsDone(request);
    try {
      this.#ctx.onRequest(request, this);
    } catch (err) {
      this.#requestThrew(request, err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * #requestThrew: onRequest threw (a handler, or the server's own hook, failed before it could
   * answer). Only that request fails: a 500 if nothing was written, END_REQUEST with appStatus 1.
   * Thrown on through the decoder it closed the connection as a decode error, and with it every
   * other request in flight on it.
   */
  #requestThrew(request: FcgiRequest, err: Error): void {
    if (this.#ctx.observer?.enabled()) this.#ctx.observer.error?.(this, err, 'handler', request.requestId);
    if (request.ended) return;
    if (request.bytesOut === 0) {
      const body = 'Internal Server Error\n';
      request.write(Buffer.from(`Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1'), () => {});
    }
    request.writeStderr(`dualcgi: request ${request.requestId} failed: ${err.stack ?? err.message}\n`);
    request.end(undefined, 1);
  }

  /**
   * #refuseParams: oversized or malformed PARAMS. The web server still expects a response, so it
   * gets a CGI error response and END_REQUEST; the connection stays usable (framing is intact).
   */
  #refuseParams(request: FcgiRequest, err: ProtocolError | ConnectionError): void {
    this.#paramsDone(request);
    if (this.#ctx.observer?.enabled()) this.#ctx.observer.error?.(this, err, 'params', request.requestId);
    const status = err.code === 'FCGI_ERR_PARAMS_TOO_LARGE' || err.code === 'FCGI_ERR_PARAMS_LIMIT'
      ? '431 Request Header Fields Too Large'
      : err.code === 'FCGI_ERR_PARAMS_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    const body = `${err.code}\n`;
    request.write(Buffer.from(`Status: ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1'), () => {});
    request.writeStderr(`dualcgi: ${err.message}\n`);
    request.end(undefined, 1);
  }

  #paramsDone(request: FcgiRequest): void {
    if (request.paramsComplete) return;
    request.paramsComplete = true;
    request.paramsStream.release();
    this.#pendingParams--;
  }

  /** #paramsTimedOut: PARAMS never completed (a slowloris peer): 408, and the request is released. */
  #paramsTimedOut(request: FcgiRequest): void {
    if (request.paramsComplete || this.#requests.get(request.requestId) !== request) return;
    this.#refuseParams(request, new ConnectionError('FCGI_ERR_PARAMS_TIMEOUT',
      `PARAMS not complete after ${this.#ctx.limits.paramsTimeoutMs} ms`, 408));
  }

  #answerGetValues(content: Buffer): void {
    let asked: string[];
    try {
      asked = decodePairs(content).map(([name]) => name);
    } catch (err) {
      this.#fail(err as ProtocolError, 'decode');
      return;
    }
    // A Map, not an object literal: `n in known` was true for "toString" or "__proto__", whose
    // values (not strings) made the encoder throw and the connection close as a decode error.
    const known = new Map<string, string>([
      [FCGI_MAX_CONNS, String(this.#ctx.maxConns)],
      [FCGI_MAX_REQS, String(this.#ctx.maxReqs)],
      [FCGI_MPXS_CONNS, this.#ctx.multiplex ? '1' : '0'],
    ]);
    // Spec 4.1: answer the variables we know, omit the others; each once (a name asked 4000
    // times made an answer past 65535 bytes, which could not be encoded).
    const answer: Array<readonly [string, string]> = [];
    for (const name of new Set(asked)) {
      const value = known.get(name);
      if (value !== undefined) answer.push([name, value]);
    }
    this.#write(encodeGetValuesResult(answer));
  }

  // --- RequestTransport ---

  /**
   * writeText: a small string (node:http's head is one) encoded straight into this turn's batch:
   * no Buffer made for it and no copy. Longer text goes through writeStream as bytes.
   */
  writeText(type: RecordType.Stdout | RecordType.Stderr, requestId: number, text: string, encoding: 'latin1' | 'utf8'): boolean {
    if (this.#closed || this.#ending) return true;
    const length = encoding === 'latin1' ? text.length : Buffer.byteLength(text, 'utf8');
    if (length > COPY_THRESHOLD || length === 0) return this.writeStream(type, requestId, Buffer.from(text, encoding));
    const at = this.#batchRecord(type, requestId, length);
    // Buffer's own encoders (as latin1Slice in protocol/pairs.ts): Buffer#write's argument
    // checks and encoding lookup were most of its 2.9% self time in micro.js fcgi.
    const slab = this.#slab as Buffer & DirectWritable;
    if (encoding === 'latin1') slab.latin1Write(text, at, length);
    else slab.utf8Write(text, at, length);
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror !== null) {
      if (!this.#merged) this.#mirrorOut(mirror, type, requestId, length, paddingFor(length), this.#slab, at);
    } else if (this.#ctx.observer?.enabled()) {
      this.#observe('out', {
        version: 1, type, requestId, contentLength: length, paddingLength: paddingFor(length), content: this.#slab.subarray(at, at + length),
      }, requestId);
    }
    return this.socket.writableLength < this.socket.writableHighWaterMark;
  }

  /**
   * #batchRecord: room in this turn's batch for a record of `length` content bytes, its header and
   * zero padding written; returns where in #slab the caller puts the content.
   */
  #batchRecord(type: number, requestId: number, length: number): number {
    if (this.#lastRecordAt >= 0) {
      const at = this.#growLastRecord(type, requestId, length);
      this.#merged = at >= 0;
      if (at >= 0) return at;
    }
    this.#merged = false;
    this.#lastMirrorAt = -1;
    const padding = paddingFor(length);
    const size = FCGI_HEADER_LEN + length + padding;
    const out = this.#reserve(size);
    const at = this.#batchEnd;
    writeHeader(out, at, type, requestId, length, padding);
    // At most 7 bytes: a loop, not Buffer#fill, whose argument checks and C++ call were 5.6% of
    // the raw FastCGI path's CPU (--cpu-prof of micro.js raw: _fill under #batchRecord).
    for (let i = at + FCGI_HEADER_LEN + length, end = at + size; i < end; i++) out[i] = 0;
    this.#batchEnd = at + size;
    // Only STDOUT grows (see #growLastRecord), and not while trace events show the records as
    // they go out; with the wire mirror it does (its frame is told: WireMirror#grow).
    this.#lastRecordAt = type === RecordType.Stdout && !this.#notes() ? at : -1;
    return at + FCGI_HEADER_LEN;
  }

  /**
   * #growLastRecord: a STDOUT write that follows a STDOUT record of the same request in this turn's
   * batch is added to that record (its length and padding rewritten) instead of making a record of
   * its own; returns where the content goes, or -1. node:http writes a hello response's head and
   * body as two writes: one record leaves instead of two, so nginx parses one record less.
   */
  #growLastRecord(type: number, requestId: number, length: number): number {
    const slab = this.#slab;
    const last = this.#lastRecordAt;
    if (type !== RecordType.Stdout || slab[last + 1] !== RecordType.Stdout
      || ((slab[last + 2]! << 8) | slab[last + 3]!) !== requestId || this.#notes()) return -1;
    const oldLength = (slab[last + 4]! << 8) | slab[last + 5]!;
    const total = oldLength + length;
    if (total > COPY_THRESHOLD) return -1;
    const padding = paddingFor(total);
    const end = last + FCGI_HEADER_LEN + total + padding;
    if (end > slab.length) return -1;
    // With the wire mirror on, the record's frame must say the new length, or no merging.
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror !== null && !mirror.grow(this.#lastMirrorAt, this.#lastMirrorGeneration, total, padding)) return -1;
    slab[last + 4] = total >> 8;
    slab[last + 5] = total & 0xff;
    slab[last + 6] = padding;
    for (let i = last + FCGI_HEADER_LEN + total; i < end; i++) slab[i] = 0;
    this.#batchEnd = end;
    return last + FCGI_HEADER_LEN + oldLength;
  }

  writeStream(type: RecordType.Stdout | RecordType.Stderr, requestId: number, chunk: Buffer): boolean {
    if (this.#closed || this.#ending) return true;
    let ok = true;
    for (let offset = 0; offset < chunk.length; offset += FCGI_MAX_ALIGNED_CONTENT) {
      const piece = offset === 0 && chunk.length <= FCGI_MAX_ALIGNED_CONTENT
        ? chunk : chunk.subarray(offset, Math.min(chunk.length, offset + FCGI_MAX_ALIGNED_CONTENT));
      ok = this.#writeRecord(type, requestId, piece);
    }
    return ok;
  }

  #writeRecord(type: number, requestId: number, content: Buffer): boolean {
    const padding = paddingFor(content.length);
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror === null && this.#ctx.observer?.enabled()) {
      this.#observe('out', { version: 1, type, requestId, contentLength: content.length, paddingLength: padding, content }, requestId);
    }
    if (content.length <= COPY_THRESHOLD) {
      const at = this.#batchRecord(type, requestId, content.length); // may start a new slab: first
      content.copy(this.#slab, at);
      if (mirror !== null && !this.#merged) this.#mirrorOut(mirror, type, requestId, content.length, padding, content, 0);
      return this.socket.writableLength < this.socket.writableHighWaterMark;
    }
    if (mirror !== null) this.#mirrorOut(mirror, type, requestId, content.length, padding, content, 0);
    // Large chunks are not copied: header, content and padding are written as views into the
    // socket, corked until the end of the turn, after whatever this turn batched before them (records
    // keep their order): a 64 KiB response's head, body and END_REQUEST leave in one writev.
    if (!this.#corked) {
      this.#corked = true;
      this.socket.cork();
      this.#queueFlush();
    }
    this.#flush();
    const header = Buffer.allocUnsafe(FCGI_HEADER_LEN);
    writeHeader(header, 0, type, requestId, content.length, padding);
    this.socket.write(header);
    let ok = this.socket.write(content);
    if (padding > 0) ok = this.socket.write(ZERO_PADDING.subarray(0, padding));
    return ok;
  }

  endRequest(request: FcgiRequest, appStatus: number, protocolStatus: ProtocolStatus, cb?: (err?: Error | null) => void): void {
    if (this.#requests.get(request.requestId) === request) {
      this.#requests.delete(request.requestId);
      if (!request.paramsComplete) this.#paramsDone(request);
      if (this.#notes()) {
        if (this.#endedRids.size > 64) this.#endedRids.clear();
        this.#endedRids.set(request.requestId, request.rid);
      }
      this.#pausedFor.delete(request);
      this.#ctx.inFlight.count--;
      if (this.#pausedFor.size === 0 && !this.#readingHeld && this.socket.isPaused()) this.socket.resume();
    }
    if (this.#closed || this.#ending) {
      cb?.();
      return;
    }
    // The rid is made only while tracing: newRid() per request was measurable with tracing off.
    const rid = this.#notes() ? request.rid : undefined;
    this.#writeEndRequest(request.requestId, appStatus, protocolStatus, request.wroteStderr, rid, cb,
      request.wire ? request.ridNumber : 0);
    if ((!request.keepConn || this.#closeAfterRequests) && this.#requests.size === 0) this.#endSocket();
  }

  /**
   * breakRequest: the request's response failed after its head went out (Exchange.breakResponse).
   * node:http drops the client's connection then, so the client sees a failed transfer rather than
   * a short response it takes for whole. A FastCGI responder says it the only way web servers
   * hear: END_REQUEST, whatever its appStatus, ends the client's response cleanly in nginx (a
   * chunked body gets its last chunk; with a Content-Length nginx waits for the missing bytes
   * until its read timeout, 75 s measured), while a connection closed before END_REQUEST makes it
   * cut the client at once (~0.1 s, measured with a raw responder; Apache's mod_fcgid alike). So
   * what was written goes out and the connection is closed, when it carries no other request;
   * else the request ends marked failed (appStatus 1): the others on it must not be cut.
   */
  breakRequest(request: FcgiRequest): void {
    if (this.#closed || this.#ending || this.#requests.size !== 1 || this.#requests.get(request.requestId) !== request) {
      this.endRequest(request, 1, ProtocolStatus.RequestComplete);
      return;
    }
    this.#requests.delete(request.requestId);
    if (!request.paramsComplete) this.#paramsDone(request);
    this.#pausedFor.delete(request);
    this.#ctx.inFlight.count--;
    this.#endSocket();
  }

  /** #writeEndRequest: the empty STDOUT (and STDERR) that end the streams, then END_REQUEST, in one write. */
  #writeEndRequest(requestId: number, appStatus: number, protocolStatus: ProtocolStatus, endStderr: boolean,
    rid: string | undefined, cb?: (err?: Error | null) => void, ridNumber = 0): void {
    const streams = protocolStatus === ProtocolStatus.RequestComplete ? (endStderr ? 2 : 1) : 0;
    const size = FCGI_HEADER_LEN * (streams + 2);
    const out = this.#reserve(size);
    const start = this.#batchEnd;
    this.#batchEnd = start + size;
    this.#lastRecordAt = -1;
    // Encoded in place in the slab: no view of it per request unless a tracer wants the records.
    let offset = start;
    if (streams >= 1) {
      writeHeader(out, offset, RecordType.Stdout, requestId, 0, 0);
      offset += FCGI_HEADER_LEN;
    }
    if (streams === 2) {
      writeHeader(out, offset, RecordType.Stderr, requestId, 0, 0);
      offset += FCGI_HEADER_LEN;
    }
    writeEndRequest(out, offset, requestId, appStatus, protocolStatus);
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror !== null) {
      for (let o = start; o < start + size; o += FCGI_HEADER_LEN) {
        const type = out[o + 1]!;
        mirror.recordOut(this.id, ridNumber, type, requestId, type === RecordType.EndRequest ? 8 : 0, 0, out, o + FCGI_HEADER_LEN, null);
        if (type === RecordType.EndRequest) break;
      }
    } else if (this.#ctx.observer?.enabled()) {
      for (let o = start; o < start + size; o += FCGI_HEADER_LEN) {
        const type = out[o + 1]!;
        const contentLength = type === RecordType.EndRequest ? 8 : 0;
        this.#observe('out', {
          version: 1, type, requestId, contentLength, paddingLength: 0, content: out.subarray(o + 8, o + 8 + contentLength),
        }, requestId, rid);
        if (contentLength) break;
      }
    }
    if (cb) (this.#batchCallbacks ??= []).push(cb);
  }

  /**
   * #reserve: room for `size` more bytes in this turn's batch (see #slab); queues the flush for
   * when the tick queue is done. Returns the slab to encode into at #batchEnd.
   */
  #reserve(size: number): Buffer {
    // A batch starts at the slab's start again once the socket has written everything taken from
    // it, so that a connection's batches of the same size are the same bytes of the slab and #flush
    // hands the socket the same view again (#view).
    if (this.#batchEnd === this.#slabUsed && this.#slabUsed !== 0 && this.#slabInFlight === 0 && !this.#notes()) {
      this.#slabUsed = this.#batchEnd = 0;
    }
    if (this.#batchEnd + size > this.#slab.length) {
      this.#flush();
      this.#nextSlab(Math.max(SLAB_SIZE, size));
      this.#slabUsed = 0;
      this.#batchEnd = 0;
    }
    this.#queueFlush();
    return this.#slab;
  }

  /** #nextSlab: an empty slab of at least `size` bytes: this one or the spare if the socket is done with it, else a new one. */
  #nextSlab(size: number): void {
    // Not while record events may hold views of the slab; the wire mirror copies.
    const reuse = !this.#notes();
    if (reuse && this.#slabInFlight === 0 && this.#spareInFlight === 0 && this.#slab.length >= size) return;
    const spare = reuse && this.#spareInFlight === 0 && this.#spare !== null && this.#spare.length >= size ? this.#spare : null;
    // The current slab becomes the spare; its writes still in flight are counted as the spare's.
    this.#spare = this.#slab.length > 0 ? this.#slab : null;
    this.#spareInFlight += this.#slabInFlight;
    this.#slabInFlight = 0;
    this.#slab = spare ?? Buffer.allocUnsafeSlow(size);
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    // One time stamp per output turn for the wire mirror's frames (taken when the first one is written).
    this.#ctx.observer?.wire?.tick();
    // A reaction on a settled promise, not queueMicrotask: that one builds an AsyncResource and a
    // bound function per call (runInAsyncScope in --cpu-prof of micro.js raw). Both run after the
    // tick queue; measured alone, 95-109 ns vs 44-51 ns per call. The flush needs no async context.
    RESOLVED.then(this.#endOfTurnBound);
  }

  /** #endOfTurn: the tick queue is done: this turn's records leave. */
  #endOfTurn(): void {
    this.#flushQueued = false;
    if (this.#lastRecordAt >= 0) this.#padOpenRecord();
    this.#flush();
    if (this.#corked) {
      this.#corked = false;
      this.socket.uncork();
    }
  }

  /** #flush: this turn's batch to the socket, as one write of one buffer. */
  #flush(): void {
    this.#lastRecordAt = -1;
    const start = this.#slabUsed;
    const end = this.#batchEnd;
    const callbacks = this.#batchCallbacks;
    this.#batchCallbacks = null;
    if (end === start) {
      if (callbacks) for (const cb of callbacks) cb();
      return;
    }
    // Eight-byte aligned, so the next batch's records start aligned in the slab.
    this.#slabUsed = this.#batchEnd = Math.min(this.#slab.length, (end + 7) & ~7);
    // The last batch's view again when this one covers the same bytes (#reserve starts batches
    // at the slab's start): Buffer#subarray reads `buffer` through a C++ getter and makes a typed
    // array, ~0.7k instructions of a hello request under callgrind (bench/README.md, nginx,
    // "Eighth session"). The socket is done with the old view: nothing of this slab is in flight.
    let out = this.#view;
    if (start !== this.#viewStart || end !== out.length + start || this.#viewSlab !== this.#slab) {
      out = this.#view = this.#slab.subarray(start, end);
      this.#viewStart = start;
      this.#viewSlab = this.#slab;
    }
    if (this.#closed || this.#ending && this.socket.writableEnded) {
      if (callbacks) for (const cb of callbacks) cb();
      return;
    }
    this.#slabInFlight++;
    if (callbacks === null) this.socket.write(out, this.#slabWriteDone);
    else {
      this.socket.write(out, (err) => {
        this.#slabWriteDone();
        for (const cb of callbacks) cb(err ?? null);
      });
    }
  }

  /**
   * #padOpenRecord: the turn ends with a STDOUT record whose response did not end in it (its
   * END_REQUEST would follow it): a response written over time. Its padding becomes 7 or more
   * (8 more bytes, still aligned). Why: nginx with `fastcgi_keep_conn on` holds the bytes that
   * follow the response head in the head's record until at least 8 of them (body and padding)
   * are in: ngx_event_pipe_read_upstream hands a partly filled buffer to the FastCGI filter only
   * once it holds p->length bytes, which ngx_http_fastcgi_input_filter_init sets to 8, a record
   * header. A first write of "one\n" with 0-3 bytes of padding reached the browser only with the
   * next write (a stream's or SSE's first event one interval late, or at the end). A response
   * that ends in the same turn (a hello) never gets here: its END_REQUEST follows the record. Only
   * at the end of a turn: a batch that leaves earlier (a large record follows, the slab is full)
   * has more bytes right behind it. With record events on (#notes) records do not grow, so this
   * cannot apply.
   */
  #padOpenRecord(): void {
    const slab = this.#slab;
    const last = this.#lastRecordAt;
    const padding = slab[last + 6]!;
    if (padding >= 7) return;
    const length = (slab[last + 4]! << 8) | slab[last + 5]!;
    const end = this.#batchEnd + 8;
    if (end > slab.length) return;
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror !== null && !mirror.grow(this.#lastMirrorAt, this.#lastMirrorGeneration, length, padding + 8)) return;
    for (let i = this.#batchEnd; i < end; i++) slab[i] = 0;
    slab[last + 6] = padding + 8;
    this.#batchEnd = end;
  }

  #write(buf: Buffer): void {
    if (this.#closed || this.#ending) return;
    const mirror = this.#ctx.observer?.wire ?? null;
    if (mirror !== null) {
      mirror.tick();
      mirror.recordOut(this.id, 0, buf[1]!, buf.readUInt16BE(2), buf.readUInt16BE(4), buf[6]!, buf, FCGI_HEADER_LEN, null);
    } else if (this.#ctx.observer?.enabled()) {
      const contentLength = buf.readUInt16BE(4);
      this.#observe('out', {
        version: 1, type: buf[1]!, requestId: buf.readUInt16BE(2), contentLength, paddingLength: buf[6]!,
        content: buf.subarray(8, 8 + contentLength),
      }, 0);
    }
    // After this turn's batch, so records keep their order.
    this.#flush();
    if (!this.socket.write(buf)) this.#holdReading();
  }

  onDrain(cb: () => void): void {
    if (this.#closed) {
      cb();
      return;
    }
    this.#drainWaiters.push(cb);
    if (this.#writeTimer === null) {
      // A peer that stops reading must not pin a response (and its memory) forever.
      this.#writeTimer = setTimeout(() => {
        this.#writeTimer = null;
        if (this.#drainWaiters.length === 0) return;
        this.#fail(new ConnectionError('FCGI_ERR_WRITE_TIMEOUT', `peer read nothing for ${this.#ctx.limits.writeTimeoutMs} ms`), 'write');
      }, this.#ctx.limits.writeTimeoutMs);
      this.#writeTimer.unref();
    }
  }

  pauseFor(request: FcgiRequest): void {
    this.#pausedFor.add(request);
    this.socket.pause();
  }

  resumeFor(request: FcgiRequest): void {
    this.#pausedFor.delete(request);
    if (this.#pausedFor.size === 0 && !this.#readingHeld) this.socket.resume();
  }

  /**
   * #holdReading: replies the connection makes on its own (GET_VALUES_RESULT, UNKNOWN_TYPE, the
   * END_REQUEST of a refused BEGIN_REQUEST) wait for a peer that does not read them: reading stops
   * until the socket drains (FCGI_ERR_WRITE_TIMEOUT if it never does). Without it a peer sending
   * such records and reading nothing grew this process without bound (16 bytes queued for each 8
   * read, each its own write).
   */
  #holdReading(): void {
    if (this.#readingHeld || this.#closed || this.#ending) return;
    this.#readingHeld = true;
    this.socket.pause();
    this.onDrain(() => {
      this.#readingHeld = false;
      if (this.#pausedFor.size === 0 && !this.#closed) this.socket.resume();
    });
  }
}
