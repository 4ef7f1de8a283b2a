import type { ParamLookup, Params } from '../cgi/params';
import { type AbortListener, type BodySink, callAbortListener, type Exchange, type RoleName } from '../handlers/exchange';
import { ProtocolStatus, RecordType } from '../protocol/constants';
import { ParamsStream } from '../protocol/pairs';
import { newRidNumber } from '../trace/channel';
import { ConnectionError } from './errors';
import { InboundStream } from './inbound-stream';
import type { ParamList } from './param-list';

/** RequestTransport: what a request needs from its connection (implemented by Connection). */
export interface RequestTransport {
  writeStream(type: RecordType.Stdout | RecordType.Stderr, requestId: number, chunk: Buffer): boolean;
  writeText(type: RecordType.Stdout | RecordType.Stderr, requestId: number, text: string, encoding: 'latin1' | 'utf8'): boolean;
  endRequest(request: FcgiRequest, appStatus: number, protocolStatus: ProtocolStatus, cb?: (err?: Error | null) => void): void;
  /** breakRequest: the request's response failed after its head (FcgiRequest.breakResponse). */
  breakRequest(request: FcgiRequest): void;
  onDrain(cb: () => void): void;
  pauseFor(request: FcgiRequest): void;
  resumeFor(request: FcgiRequest): void;
}

const NO_PARAMS: Params = new Map();
/** Shared empty lists, never written: a request's own list is made on its first push. */
const NO_CHUNKS: Buffer[] = [];
const NO_LISTENERS: AbortListener[] = [];

/** Bytes of request body we hold for an app that has not started reading, before pausing the socket. */
const PENDING_BODY_LIMIT = 256 * 1024;

/**
 * FcgiRequest: one FastCGI request (spec 5): PARAMS collected until the empty record, then the app
 * runs while STDIN streams in; STDOUT/STDERR go out as records with the socket's backpressure.
 * It is the FastCGI side of the Exchange contract.
 */
export class FcgiRequest implements Exchange {
  readonly mode = 'fcgi' as const;
  readonly requestId: number;
  readonly role: RoleName;
  readonly keepConn: boolean;
  readonly paramsStream: ParamsStream;
  /** paramsComplete: the empty PARAMS record arrived (or the stream was refused). */
  paramsComplete = false;
  /** #paramList: set once the PARAMS stream is complete. */
  #paramList: ParamList | null = null;
  /**
   * beganAt: performance.now() when the request's PARAMS were first seen incomplete at the end of
   * a read (0 until then); the connection's params timeout reads it. Stamped by the connection
   * only for such requests: a clock read per request was ~50 ns on the bench machine, and
   * nginx's PARAMS nearly always complete in the read that began the request.
   */
  beganAt = 0;
  bytesIn = 0;
  bytesOut = 0;
  #transport: RequestTransport;
  #sink: BodySink | null = null;
  // Shared empty lists until first needed: a hello request never holds body bytes, and two
  // arrays per request were garbage (micro.js raw).
  #pending: Buffer[] = NO_CHUNKS;
  #pendingBytes = 0;
  #bodyEnded = false;
  /**
   * #bodyLeft: body bytes the app is still to get when the head declared a length (CONTENT_LENGTH,
   * given to startBody), or -1 when it declared none (read to the empty STDIN).
   */
  #bodyLeft = -1;
  #bodyError: ConnectionError | null = null;
  #bodyDelivered = false;
  #paused = false;
  #ended = false;
  #aborted = false;
  #wroteStderr = false;
  /**
   * #abortListener: the first abort listener, in a field: a request has one (the adapter's), and
   * an array for it was garbage per request. Later ones go to #abortListeners.
   */
  #abortListener: AbortListener | null = null;
  #abortListeners: AbortListener[] = NO_LISTENERS;
  /** #data: a Filter's FCGI_DATA stream, made when its first record arrives or the app asks for it. */
  #data: InboundStream | null = null;

  #maxBodyBytes: number;

  constructor(transport: RequestTransport, requestId: number, role: RoleName, keepConn: boolean, maxParamsBytes: number,
    maxBodyBytes = Infinity) {
    this.#transport = transport;
    this.#maxBodyBytes = maxBodyBytes;
    this.requestId = requestId;
    this.role = role;
    this.keepConn = keepConn;
    this.paramsStream = new ParamsStream(maxParamsBytes);
  }

  /** setParams: the decoded PARAMS stream (the connection calls this once it is complete). */
  setParams(list: ParamList): void {
    this.#paramList = list;
  }

  /**
   * params: the CGI params as a Map, built on first use (until PARAMS are complete, a shared
   * empty map, never written). The request mapping reads `paramLookup` instead: see param-list.ts.
   */
  get params(): Params {
    return this.#paramList === null ? NO_PARAMS : this.#paramList.toMap();
  }

  /** paramLookup: the same params, read without building the Map (Exchange.paramLookup). */
  get paramLookup(): ParamLookup {
    return this.#paramList ?? NO_PARAMS;
  }

  #rid: string | undefined;
  #ridNumber = 0;
  /**
   * wire: the request began while the wire mirror was on (trace/wire-mirror.ts): its records,
   * start and end reach the trace socket as captured bytes, and no start or end event is built.
   */
  wire = false;
  /** wireHead: how much of the response head the wire mirror has sent (-1: all of it). */
  wireHead = 0;

  /** ridNumber: the number in the request's rid, made on first use (only tracing asks for it). */
  get ridNumber(): number {
    return (this.#ridNumber ||= newRidNumber());
  }

  /** rid: the request's trace key, made on first use (only tracing asks for it). */
  get rid(): string {
    return (this.#rid ??= `${process.pid}-${this.ridNumber}`);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** ended: END_REQUEST has been sent (or the request was aborted). */
  get ended(): boolean {
    return this.#ended;
  }

  get wroteStderr(): boolean {
    return this.#wroteStderr;
  }

  // --- body side (connection -> app) ---

  /** pushBody: STDIN content from the connection; an empty chunk ends the body (spec 5.3). */
  pushBody(chunk: Buffer): void {
    if (this.#bodyEnded || this.#aborted) return;
    if (chunk.length === 0) {
      this.#bodyEnded = true;
      if (this.#sink && this.#pending.length === 0) this.#finishBody();
      return;
    }
    this.bytesIn += chunk.length;
    if (this.bytesIn > this.#maxBodyBytes) {
      this.#refuseBody();
      return;
    }
    if (this.#sink && !this.#paused && this.#pending.length === 0) {
      if (!this.#deliver(chunk)) this.#pause();
      return;
    }
    if (this.#pending === NO_CHUNKS) this.#pending = [];
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (!this.#paused && this.#pendingBytes > PENDING_BODY_LIMIT) this.#pause();
  }

  /**
   * #refuseBody: the body passed maxBodyBytes. The rest is ignored and the app's body stream fails
   * with FCGI_ERR_BODY_TOO_LARGE (the adapters answer 413 if nothing was sent yet).
   */
  #refuseBody(): void {
    this.#bodyEnded = true;
    this.#pending = NO_CHUNKS;
    this.#pendingBytes = 0;
    this.#bodyError = new ConnectionError('FCGI_ERR_BODY_TOO_LARGE', `request body over ${this.#maxBodyBytes} bytes`, 413);
    if (this.#paused) {
      this.#paused = false;
      this.#transport.resumeFor(this);
    }
    if (this.#sink) this.#sink.error(this.#bodyError);
  }

  /**
   * startBody: `length` is the body size the request head declares (CONTENT_LENGTH). Spec 6.2: a
   * Responder compares what STDIN brought with CONTENT_LENGTH. The app gets at most `length` bytes
   * and its body ends as soon as they are in (as node:http ends a body at its Content-Length); what
   * STDIN brings beyond them is dropped; a STDIN that ends short fails the body with
   * FCGI_ERR_BODY_TRUNCATED (400), as a CGI stdin does (CGI_ERR_BODY_TRUNCATED), so that a cut
   * upload is never taken for a whole one.
   */
  startBody(sink: BodySink, length?: number): void {
    this.#sink = sink;
    if (length !== undefined) this.#bodyLeft = length;
    if (this.#bodyError) {
      sink.error(this.#bodyError);
      return;
    }
    this.#flushPending();
  }

  resumeBody(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#flushPending();
    if (!this.#paused && !this.#data?.paused) this.#transport.resumeFor(this);
  }

  #pause(): void {
    this.#paused = true;
    this.#transport.pauseFor(this);
  }

  #flushPending(): void {
    const sink = this.#sink;
    if (!sink) return;
    while (this.#pending.length > 0 && !this.#paused) {
      const chunk = this.#pending.shift()!;
      this.#pendingBytes -= chunk.length;
      if (!this.#deliver(chunk)) this.#paused = true;
    }
    if (this.#paused) {
      this.#transport.pauseFor(this);
    } else if (this.#pending.length === 0 && this.#bodyEnded) {
      this.#finishBody();
    }
  }

  /** #deliver: one STDIN chunk to the sink, cut at the declared length (startBody); false asks for a pause. */
  #deliver(chunk: Buffer): boolean {
    const left = this.#bodyLeft;
    if (left < 0) return this.#sink!.data(chunk);
    if (chunk.length < left) {
      this.#bodyLeft = left - chunk.length;
      return this.#sink!.data(chunk);
    }
    this.#bodyLeft = 0;
    if (left > 0) this.#sink!.data(chunk.length === left ? chunk : chunk.subarray(0, left));
    this.#completeBody();
    return true;
  }

  /**
   * #completeBody: the declared length is in: the body ends now, and the rest of STDIN (up to the
   * empty record) is read and dropped, so a paused connection resumes.
   */
  #completeBody(): void {
    this.#bodyEnded = true;
    this.#pending = NO_CHUNKS;
    this.#pendingBytes = 0;
    if (this.#paused) {
      this.#paused = false;
      if (!this.#data?.paused) this.#transport.resumeFor(this);
    }
    this.#finishBody();
  }

  #finishBody(): void {
    if (this.#bodyDelivered || this.#bodyError) return;
    if (this.#bodyLeft > 0) {
      this.#bodyError = new ConnectionError('FCGI_ERR_BODY_TRUNCATED', `STDIN ended ${this.#bodyLeft} bytes before CONTENT_LENGTH`, 400);
      this.#sink!.error(this.#bodyError);
      return;
    }
    this.#bodyDelivered = true;
    this.#sink!.end();
  }

  // --- data side (Filter role: FCGI_DATA, spec 6.4; the connection routes DATA here only for filters) ---

  #dataStream(): InboundStream {
    return (this.#data ??= new InboundStream(PENDING_BODY_LIMIT, () => this.#transport.pauseFor(this), () => {
      if (!this.#paused) this.#transport.resumeFor(this);
    }));
  }

  /** pushData: DATA content from the connection; an empty chunk ends the stream. */
  pushData(chunk: Buffer): void {
    if (!this.#aborted) this.#dataStream().push(chunk);
  }

  startData(sink: BodySink): void {
    this.#dataStream().start(sink);
  }

  resumeData(): void {
    this.#data?.resume();
  }

  // --- response side (app -> connection) ---

  write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.#ended) {
      cb(); // aborted or already ended: the bytes have nowhere to go (ServerResponse handles late writes)
      return;
    }
    this.bytesOut += chunk.length;
    if (this.#transport.writeStream(RecordType.Stdout, this.requestId, chunk)) cb();
    else this.#transport.onDrain(() => cb());
  }

  /** writeText: a string, encoded by the transport straight into its output (see Exchange.writeText). */
  writeText(text: string, encoding: 'latin1' | 'utf8', cb: (err?: Error | null) => void): void {
    if (this.#ended) {
      cb();
      return;
    }
    this.bytesOut += encoding === 'latin1' ? text.length : Buffer.byteLength(text, 'utf8');
    if (this.#transport.writeText(RecordType.Stdout, this.requestId, text, encoding)) cb();
    else this.#transport.onDrain(() => cb());
  }

  end(cb?: (err?: Error | null) => void, appStatus = 0): void {
    if (this.#ended) {
      cb?.();
      return;
    }
    this.#ended = true;
    this.#transport.endRequest(this, appStatus, ProtocolStatus.RequestComplete, cb);
  }

  /** breakResponse: see Exchange.breakResponse; the connection decides how (Connection.breakRequest). */
  breakResponse(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#transport.breakRequest(this);
  }

  writeStderr(chunk: string | Buffer): void {
    if (this.#ended) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length === 0) return;
    this.#wroteStderr = true;
    this.#transport.writeStream(RecordType.Stderr, this.requestId, buf);
  }

  onAbort(fn: AbortListener): void {
    if (this.#aborted) return;
    if (this.#abortListener === null) {
      this.#abortListener = fn;
      return;
    }
    if (this.#abortListeners === NO_LISTENERS) this.#abortListeners = [];
    this.#abortListeners.push(fn);
  }

  /**
   * abort: the web server sent ABORT_REQUEST (`respond` true: END_REQUEST goes out now, without
   * waiting for the handler) or the connection is gone (`respond` false).
   */
  abort(reason: ConnectionError, respond: boolean): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#pending = NO_CHUNKS;
    this.#data?.clear();
    if (!this.#ended) {
      this.#ended = true;
      if (respond) this.#transport.endRequest(this, 0, ProtocolStatus.RequestComplete);
    }
    const first = this.#abortListener;
    const listeners = this.#abortListeners;
    this.#abortListener = null;
    this.#abortListeners = NO_LISTENERS;
    if (first !== null) callAbortListener(first, reason);
    for (const fn of listeners) callAbortListener(fn, reason);
  }
}
