import { type Socket, connect } from 'node:net';
import { type Address, formatAddress } from '../net/address';
import {
  FCGI_KEEP_CONN, type FastCGIRecord, RecordDecoder, RecordType, Role, decodeEndRequestBody, encodeBeginRequest,
  encodeRecord, encodeStream,
} from '../protocol';
import { type ParamsFraming, frameParams } from '../client/framing';

/** EndOutcome: what waiting for a request's END_REQUEST came to. */
export type EndOutcome =
  | { kind: 'end'; appStatus: number; protocolStatus: number; stdout: Buffer; ms: number }
  | { kind: 'closed'; stdout: Buffer; why: string }
  | { kind: 'timeout'; stdout: Buffer };

interface Waiter {
  check(): boolean;
}

/**
 * Probe: a raw FastCGI connection for conformance checks: send any bytes, watch every record and the
 * close. Unlike the client it has no policy: a check decides what an answer means. Bytes the
 * responder sends that are not records are noted, not thrown.
 */
export class Probe {
  readonly records: FastCGIRecord[] = [];
  closed = false;
  /** closeReason: the socket error code, or 'closed by the responder'. */
  closeReason = '';
  /** badBytes: the responder sent something that is not FastCGI. */
  badBytes: string | null = null;
  #socket: Socket;
  #decoder: RecordDecoder;
  #waiters = new Set<Waiter>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#decoder = new RecordDecoder((record) => {
      this.records.push(record);
      this.#wake();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#decoder.push(chunk);
      } catch (err) {
        this.badBytes ??= (err as Error).message;
        // What the close then means: the wrong port (an HTTP server), not a responder that hung up.
        this.closeReason ||= looksLikeHttp(chunk) ? 'it answered HTTP, not FastCGI: is this an HTTP port?'
          : `after bytes that are not FastCGI records: ${this.badBytes}`;
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => { this.closeReason ||= err.code ?? err.message; });
    socket.on('close', () => {
      this.closed = true;
      this.closeReason ||= 'closed by the responder';
      this.#wake();
    });
  }

  /** open: connect within `timeoutMs`; rejects with a one-line reason. */
  static open(address: Address, timeoutMs: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const socket = address.kind === 'unix' ? connect(address.path) : connect({ host: address.host || '127.0.0.1', port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to ${formatAddress(address)}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${formatAddress(address)}: ${err.code ?? err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Probe(socket));
      });
    });
  }

  /** send: write bytes; after a close they go nowhere (the check sees the close). */
  send(...buffers: Buffer[]): void {
    if (this.closed || this.#socket.destroyed) return;
    for (const buf of buffers) this.#socket.write(buf);
  }

  /** waitFor: the first record (from `from` on) matching `match`, or 'closed' / 'timeout'. */
  waitFor(match: (r: FastCGIRecord) => boolean, timeoutMs: number, from = 0): Promise<FastCGIRecord | 'closed' | 'timeout'> {
    return this.#wait(timeoutMs, () => {
      const found = this.records.slice(from).find(match);
      if (found) return found;
      return this.closed ? 'closed' : undefined;
    });
  }

  /** waitClosed: true once the responder closed the connection within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    return (await this.#wait(timeoutMs, () => (this.closed ? true : undefined))) === true;
  }

  /** endOf: STDOUT and END_REQUEST of request `id` (records from index `from` on). */
  async endOf(id: number, timeoutMs: number, from = 0): Promise<EndOutcome> {
    const started = performance.now();
    const got = await this.waitFor((r) => r.requestId === id && r.type === RecordType.EndRequest, timeoutMs, from);
    const stdout = Buffer.concat(this.records.slice(from)
      .filter((r) => r.requestId === id && r.type === RecordType.Stdout).map((r) => r.content));
    if (got === 'timeout') return { kind: 'timeout', stdout };
    if (got === 'closed') return { kind: 'closed', stdout, why: this.closeReason };
    try {
      const body = decodeEndRequestBody(got.content);
      return { kind: 'end', ...body, stdout, ms: performance.now() - started };
    } catch {
      return { kind: 'end', appStatus: -1, protocolStatus: -1, stdout, ms: performance.now() - started };
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #wait<T>(timeoutMs: number, settled: () => T | undefined): Promise<T | 'timeout'> {
    const now = settled();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check: () => {
          const value = settled();
          if (value === undefined) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve('timeout');
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) if (waiter.check()) this.#waiters.delete(waiter);
  }
}

function looksLikeHttp(chunk: Buffer): boolean {
  return chunk.subarray(0, 5).toString('latin1') === 'HTTP/';
}

/** RequestShape: how a lint request is framed. */
export interface RequestShape {
  keepConn?: boolean;
  role?: number;
  framing?: ParamsFraming;
  stdin?: Buffer;
  stdinRecordSize?: number;
  /** padding: padding length for every record (spec 3.3 allows 0..255 whatever the content). */
  padding?: number;
  /** endStdin: send the empty STDIN record. Default true. */
  endStdin?: boolean;
}

/** requestRecords: BEGIN_REQUEST, PARAMS and STDIN of one request, framed as asked. */
export function requestRecords(id: number, params: ReadonlyArray<readonly [string, string]>, shape: RequestShape = {}): Buffer[] {
  const pad = shape.padding;
  const record = (type: number, content: Buffer = Buffer.alloc(0)): Buffer =>
    pad === undefined ? encodeRecord(type, id, content) : encodeRecord(type, id, content, pad);
  const begin = pad === undefined
    ? encodeBeginRequest(id, shape.role ?? Role.Responder, shape.keepConn ? FCGI_KEEP_CONN : 0)
    : record(RecordType.BeginRequest, beginBody(shape.role ?? Role.Responder, shape.keepConn === true));
  const out = [begin];
  for (const chunk of frameParams(params, shape.framing ?? { kind: 'stream' })) out.push(record(RecordType.Params, chunk));
  out.push(record(RecordType.Params));
  if (shape.stdin && shape.stdin.length > 0) {
    const size = shape.stdinRecordSize ?? 65528;
    if (pad === undefined) out.push(...encodeStream(RecordType.Stdin, id, shape.stdin, size));
    else for (let o = 0; o < shape.stdin.length; o += size) out.push(record(RecordType.Stdin, shape.stdin.subarray(o, o + size)));
  }
  if (shape.endStdin !== false) out.push(record(RecordType.Stdin));
  return out;
}

function beginBody(role: number, keepConn: boolean): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = keepConn ? FCGI_KEEP_CONN : 0;
  return body;
}
