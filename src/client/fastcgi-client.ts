import { connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { type Address, formatAddress, parseAddress } from '../net/address';
import {
  FCGI_KEEP_CONN, FCGI_MAX_ALIGNED_CONTENT, FCGI_NULL_REQUEST_ID, type FastCGIRecord, RecordDecoder, RecordType,
  Role, decodeEndRequestBody, decodePairs, encodeBeginRequest, encodeGetValues, encodeParams, encodeRecord,
  encodeStream, isProtocolError,
} from '../protocol';
import { ClientError, errnoCode } from './errors';

/** FastCGIClientRequest: one request to send. */
export interface FastCGIClientRequest {
  /** params: CGI meta-variables, e.g. from buildCgiParams; strings are written as latin-1 bytes. */
  params: Iterable<readonly [string, string]>;
  /** body: the STDIN stream. A Readable is sent with backpressure, never buffered whole. */
  body?: Buffer | Readable;
  /** requestId: default the lowest id not in flight on this connection. */
  requestId?: number;
  /** keepConn: set FCGI_KEEP_CONN (the server keeps the connection open afterwards). Default false. */
  keepConn?: boolean;
  /** role: default Role.Responder; any number may be sent (to test UNKNOWN_ROLE). */
  role?: number;
  /** paramsRecordSize: the most PARAMS bytes per record (small values split pairs across records). */
  paramsRecordSize?: number;
  /** paramsChunks: the content of each PARAMS record (see frameParams); replaces `params`' own framing. */
  paramsChunks?: Buffer[];
  /** stdinRecordSize: the most STDIN bytes per record. Default 65528 (aligned, no padding). */
  stdinRecordSize?: number;
  /**
   * rawRecords: bytes sent as they are instead of BEGIN_REQUEST, PARAMS and STDIN (a replay of
   * captured records); `requestId` must name the request they carry.
   */
  rawRecords?: Buffer[];
  /** keepRecords: also collect every record of this request in `FastCGIResponse.records`. */
  keepRecords?: boolean;
  /** onRecord: called with each record the server sends for this request, as it arrives. */
  onRecord?(record: FastCGIRecord): void;
}

/** FastCGIResponse: what came back for one request. */
export interface FastCGIResponse {
  requestId: number;
  stdout: Buffer;
  stderr: Buffer;
  appStatus: number;
  protocolStatus: number;
  /** records: every record of the request, when `keepRecords` was set; else empty. */
  records: FastCGIRecord[];
}

/** ConnectOptions: connection-wide hooks. */
export interface ConnectOptions {
  /** onRecord: every record received on the connection, including management records. */
  onRecord?(record: FastCGIRecord): void;
  /** onWire: every chunk of bytes as it is written ('out') or read ('in'), for -v and --raw. */
  onWire?(dir: 'out' | 'in', chunk: Buffer): void;
}

/** Pending: one request from BEGIN_REQUEST until END_REQUEST (and the end of its STDIN). */
interface Pending {
  id: number;
  stdout: Buffer[];
  stderr: Buffer[];
  stdinRecordSize: number;
  records: FastCGIRecord[] | null;
  onRecord: ((record: FastCGIRecord) => void) | undefined;
  resolve(response: FastCGIResponse): void;
  reject(err: Error): void;
  /** done: END_REQUEST arrived or the request failed; the promise is settled. */
  done: boolean;
  /** pumping: STDIN is still being written; the id stays reserved until both are over. */
  pumping: boolean;
}

/** ValuesWaiter: a GET_VALUES waiting for its result; results come back in order (spec 4.1). */
interface ValuesWaiter {
  resolve(values: Map<string, string>): void;
  reject(err: Error): void;
}

/**
 * FastCGIClientConnection: the web-server side of one FastCGI connection. Several requests may be
 * in flight at once with distinct ids (multiplexing, if the server allows it), and the connection is
 * reused while requests set keepConn. Records are written whole, so requests interleave safely.
 */
export class FastCGIClientConnection {
  readonly socket: Socket;
  readonly address: string;
  #decoder: RecordDecoder;
  #pending = new Map<number, Pending>();
  #valuesWaiters: ValuesWaiter[] = [];
  #drainWaiters: Array<() => void> = [];
  #closed = false;
  /** #failure: a framing error that ended the connection; it is what every waiter gets. */
  #failure: ClientError | null = null;
  /** #socketError: the errno error (EPIPE, ECONNRESET) seen before the close, reported as the cause. */
  #socketError: Error | null = null;
  #onRecord: ((record: FastCGIRecord) => void) | undefined;
  #onWire: ((dir: 'out' | 'in', chunk: Buffer) => void) | undefined;
  #closeWaiters: Array<() => void> = [];

  private constructor(socket: Socket, address: string, options: ConnectOptions) {
    this.socket = socket;
    this.address = address;
    this.#onRecord = options.onRecord;
    this.#onWire = options.onWire;
    this.#decoder = new RecordDecoder((record) => this.#handleRecord(record));
    socket.on('data', (chunk: Buffer) => this.#socketOnData(chunk));
    socket.on('drain', () => this.#releaseDrainWaiters());
    socket.on('error', (err) => this.#socketOnError(err));
    socket.on('close', () => this.#socketOnClose());
  }

  /** connect: open a connection to `unix:/path`, `HOST:PORT` or `:PORT` (127.0.0.1). CLIENT_ERR_CONNECT on failure. */
  static connect(address: Address | string, options: ConnectOptions = {}): Promise<FastCGIClientConnection> {
    const addr = typeof address === 'string' ? parseAddress(address) : address;
    const shown = formatAddress(addr);
    return new Promise((resolve, reject) => {
      const socket = addr.kind === 'unix'
        ? netConnect(addr.path)
        : netConnect({ host: addr.host || '127.0.0.1', port: addr.port, noDelay: true });
      const onError = (err: Error): void => {
        reject(new ClientError('CLIENT_ERR_CONNECT', `cannot connect to ${shown}: ${errnoCode(err) ?? err.message}`, err));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new FastCGIClientConnection(socket, shown, options));
      });
    });
  }

  /** closed: the socket is gone; new requests fail with CLIENT_ERR_CLOSED. */
  get closed(): boolean {
    return this.#closed;
  }

  /** inFlight: requests whose END_REQUEST has not arrived. */
  get inFlight(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (!p.done) n++;
    return n;
  }

  /**
   * request: send BEGIN_REQUEST, PARAMS (ended by the empty record) and STDIN (ended by the empty
   * record), and resolve at END_REQUEST. Rejects with CLIENT_ERR_CLOSED when the connection ends
   * first, CLIENT_ERR_BUSY_ID for an id already in flight.
   */
  request(req: FastCGIClientRequest): Promise<FastCGIResponse> {
    if (this.#closed) return Promise.reject(this.#closedError('before the request was sent'));
    const id = req.requestId ?? this.#freeId();
    if (id === 0) return Promise.reject(new ClientError('CLIENT_ERR_BUSY_ID', 'all 65535 request ids are in flight'));
    if (id < 1 || id > 0xffff) return Promise.reject(new RangeError(`request id ${id} is outside 1..65535`));
    if (this.#pending.has(id)) {
      return Promise.reject(new ClientError('CLIENT_ERR_BUSY_ID', `request id ${id} is already in flight on ${this.address}`));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        id, stdout: [], stderr: [], stdinRecordSize: req.stdinRecordSize ?? FCGI_MAX_ALIGNED_CONTENT,
        records: req.keepRecords ? [] : null, onRecord: req.onRecord, resolve, reject, done: false, pumping: true,
      };
      this.#pending.set(id, pending);
      if (req.rawRecords) {
        for (const bytes of req.rawRecords) this.#send(bytes);
        pending.pumping = false;
        return;
      }
      const flags = req.keepConn ? FCGI_KEEP_CONN : 0;
      this.#send(encodeBeginRequest(id, req.role ?? Role.Responder, flags));
      for (const record of this.#paramsRecords(id, req)) this.#send(record);
      void this.#pumpBody(pending, req.body);
    });
  }

  #paramsRecords(id: number, req: FastCGIClientRequest): Buffer[] {
    if (!req.paramsChunks) return encodeParams(id, req.params, req.paramsRecordSize ?? FCGI_MAX_ALIGNED_CONTENT);
    const records = req.paramsChunks.map((chunk) => encodeRecord(RecordType.Params, id, chunk));
    records.push(encodeRecord(RecordType.Params, id));
    return records;
  }

  /** #send: every write goes through here, so onWire sees the bytes in the order they leave. */
  #send(bytes: Buffer): boolean {
    this.#onWire?.('out', bytes);
    return this.socket.write(bytes);
  }

  /** getValues: FCGI_GET_VALUES (spec 4.1); resolves with the variables the server answered. */
  getValues(names: readonly string[], timeoutMs = 5000): Promise<Map<string, string>> {
    if (this.#closed) return Promise.reject(this.#closedError('before GET_VALUES was sent'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#valuesWaiters.indexOf(waiter);
        if (i !== -1) this.#valuesWaiters.splice(i, 1);
        reject(new ClientError('CLIENT_ERR_TIMEOUT', `no GET_VALUES_RESULT from ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: ValuesWaiter = {
        resolve: (values) => { clearTimeout(timer); resolve(values); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      this.#valuesWaiters.push(waiter);
      this.#send(encodeGetValues(names));
    });
  }

  /** abort: send FCGI_ABORT_REQUEST for a request in flight (spec 5.4); its END_REQUEST still settles it. */
  abort(requestId: number): void {
    if (!this.#closed) this.#send(encodeRecord(RecordType.AbortRequest, requestId));
  }

  /** sendRaw: write bytes as they are (for conformance tests of a server's record policy). */
  sendRaw(buf: Buffer): void {
    if (!this.#closed) this.#send(buf);
  }

  /** close: end our side and resolve once the socket has closed; requests in flight are rejected. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#closeWaiters.push(resolve);
      this.socket.end();
      // A server that never closes its side must not keep us waiting.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  /** destroy: drop the connection at once (like nginx when its client gives up). */
  destroy(): void {
    this.socket.destroy();
  }

  /** #freeId: the lowest id not in flight (web servers reuse low ids), or 0 when all are taken. */
  #freeId(): number {
    for (let id = 1; id <= 0xffff; id++) if (!this.#pending.has(id)) return id;
    return 0;
  }

  /** #pumpBody: STDIN records with the socket's backpressure, then the empty record (spec 5.3). */
  async #pumpBody(p: Pending, body: Buffer | Readable | undefined): Promise<void> {
    try {
      if (Buffer.isBuffer(body)) {
        await this.#writeStdin(p, body);
      } else if (body !== undefined) {
        for await (const chunk of body as AsyncIterable<Buffer | string>) {
          // The server answered (or the connection died) before reading it all: stop sending.
          if (p.done || this.#closed) break;
          await this.#writeStdin(p, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        }
      }
      if (!p.done && !this.#closed) this.#send(encodeRecord(RecordType.Stdin, p.id));
    } catch (err) {
      // The body source failed: the request cannot be completed, so tell the server to drop it.
      this.abort(p.id);
      this.#settle(p, err instanceof Error ? err : new Error(String(err)));
    } finally {
      p.pumping = false;
      if (p.done) this.#pending.delete(p.id);
    }
  }

  async #writeStdin(p: Pending, data: Buffer): Promise<void> {
    const records = encodeStream(RecordType.Stdin, p.id, data, p.stdinRecordSize);
    // Tiny records (--bytewise) are written in batches: one write per record would take minutes.
    const batch = Math.max(1, Math.floor(FCGI_MAX_ALIGNED_CONTENT / (p.stdinRecordSize + 16)));
    for (let i = 0; i < records.length; i += batch) {
      if (p.done || this.#closed) return;
      const out = batch === 1 ? records[i]! : Buffer.concat(records.slice(i, i + batch));
      if (!this.#send(out)) await this.#waitDrain();
    }
  }

  #waitDrain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #socketOnData(chunk: Buffer): void {
    this.#onWire?.('in', chunk);
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      const message = isProtocolError(err) ? err.message : String(err);
      this.#failure = new ClientError('CLIENT_ERR_PROTOCOL', `${this.address} sent bytes that are not FastCGI records: ${message}`, err);
      this.socket.destroy();
    }
  }

  #socketOnError(err: Error): void {
    // EPIPE/ECONNRESET after the server closed its end; 'close' follows and settles what is left.
    this.#socketError ??= err;
  }

  /**
   * #handleRecord: the client's record policy: STDOUT/STDERR collect per request, END_REQUEST settles
   * it, GET_VALUES_RESULT answers the oldest GET_VALUES; records for unknown ids are ignored (spec 3.3).
   */
  #handleRecord(record: FastCGIRecord): void {
    this.#onRecord?.(record);
    if (record.requestId === FCGI_NULL_REQUEST_ID) {
      if (record.type === RecordType.GetValuesResult) this.#answerValues(record.content);
      return;
    }
    const p = this.#pending.get(record.requestId);
    if (!p || p.done) return;
    p.records?.push(record);
    p.onRecord?.(record);
    switch (record.type) {
      case RecordType.Stdout:
        if (record.content.length > 0) p.stdout.push(record.content);
        return;
      case RecordType.Stderr:
        if (record.content.length > 0) p.stderr.push(record.content);
        return;
      case RecordType.EndRequest:
        this.#endRequest(p, record.content);
        return;
      default:
        return;
    }
  }

  #endRequest(p: Pending, content: Buffer): void {
    let body;
    try {
      body = decodeEndRequestBody(content);
    } catch (err) {
      this.#settle(p, new ClientError('CLIENT_ERR_PROTOCOL', `bad END_REQUEST from ${this.address}: ${(err as Error).message}`, err));
      return;
    }
    this.#settle(p, {
      requestId: p.id,
      stdout: Buffer.concat(p.stdout),
      stderr: Buffer.concat(p.stderr),
      appStatus: body.appStatus,
      protocolStatus: body.protocolStatus,
      records: p.records ?? [],
    });
  }

  /** #settle: resolve or reject once; the id is freed when STDIN is no longer being written. */
  #settle(p: Pending, outcome: FastCGIResponse | Error): void {
    if (p.done) return;
    p.done = true;
    if (!p.pumping) this.#pending.delete(p.id);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  #answerValues(content: Buffer): void {
    const waiter = this.#valuesWaiters.shift();
    if (!waiter) return;
    try {
      waiter.resolve(new Map(decodePairs(content)));
    } catch (err) {
      waiter.reject(new ClientError('CLIENT_ERR_PROTOCOL', `bad GET_VALUES_RESULT from ${this.address}: ${(err as Error).message}`, err));
    }
  }

  #socketOnClose(): void {
    this.#closed = true;
    this.#releaseDrainWaiters();
    for (const p of this.#pending.values()) {
      this.#settle(p, this.#failure ?? this.#closedError(`before END_REQUEST for request ${p.id}`));
    }
    for (const waiter of this.#valuesWaiters.splice(0)) {
      waiter.reject(this.#failure ?? this.#closedError('before GET_VALUES_RESULT'));
    }
    for (const resolve of this.#closeWaiters.splice(0)) resolve();
  }

  #closedError(when: string): ClientError {
    const err = this.#socketError;
    const why = err ? ` (${errnoCode(err) ?? err.message})` : '';
    return new ClientError('CLIENT_ERR_CLOSED', `the connection to ${this.address} closed ${when}${why}`, err ?? undefined);
  }
}

/**
 * fastcgiRequest: one request on a fresh connection, closed afterwards (mod_fcgid's pattern:
 * a new connection per request, KEEP_CONN 0).
 */
export async function fastcgiRequest(address: Address | string, req: FastCGIClientRequest): Promise<FastCGIResponse> {
  const conn = await FastCGIClientConnection.connect(address);
  try {
    return await conn.request(req);
  } finally {
    conn.destroy();
  }
}
