import { createRequestHead } from '../cgi/request-head';
import { paramsFromPairs } from '../cgi/params';
import { parseCgiResponse } from '../client/cgi-response';
import {
  type FastCGIRecord, ParamsStream, RecordDecoder, RecordType, decodeBeginRequestBody, decodeEndRequestBody, roleName,
} from '../protocol';
import { isTracing, newRid, publish } from '../trace/channel';
import { Level } from '../trace/events';
import { recordEvent } from '../trace/record-event';
import { redactHeaders, redactParams } from '../trace/redact';

/** MAX_HEAD: the STDOUT head is read for the status up to this many bytes (a head is a few hundred). */
const MAX_HEAD = 16 * 1024;

/** TapRequest: one request seen passing through, from BEGIN_REQUEST to END_REQUEST. */
interface TapRequest {
  rid: string;
  requestId: number;
  role: string;
  started: bigint;
  params: ParamsStream;
  method: string;
  uri: string;
  bytesIn: number;
  bytesOut: number;
  head: Buffer[];
  headBytes: number;
  aborted: boolean;
}

/**
 * TapTrace: decodes both directions of one proxied connection into trace events with mode 'tap':
 * every record (dir 'in' = from the web server, 'out' = from the upstream app), request.start once a
 * PARAMS stream is complete, request.end at END_REQUEST (status from the STDOUT head), and why a
 * connection ended. Bytes that stop being records end decoding of that direction with one error
 * event; the proxy forwards them regardless.
 */
export class TapTrace {
  readonly conn: number;
  #requests = new Map<number, TapRequest>();
  #decoders: Record<'in' | 'out', RecordDecoder | null>;

  /** joined: the connection was open before tracing began; its records are decoded from the next one each way. */
  constructor(conn: number, peer: string, upstream: string, joined = false) {
    this.conn = conn;
    this.#decoders = {
      in: new RecordDecoder((r) => this.#onRecord('in', r)),
      out: new RecordDecoder((r) => this.#onRecord('out', r)),
    };
    if (isTracing()) {
      publish({ ev: 'conn.open', mode: 'tap', conn, peer, msg: `connection ${conn} from ${peer} to upstream ${upstream}` +
        `${joined ? ' (open before tracing began: traced from its next record each way)' : ''}` });
    }
  }

  /** bytes: a chunk as it was forwarded. */
  bytes(dir: 'in' | 'out', chunk: Buffer): void {
    const decoder = this.#decoders[dir];
    if (!decoder) return;
    try {
      decoder.push(chunk);
    } catch (err) {
      this.#decoders[dir] = null;
      const from = dir === 'in' ? 'the web server' : 'the upstream';
      this.error('decode', err as Error, `${from} sent bytes that are not FastCGI records (forwarded anyway): ${(err as Error).message}`);
    }
  }

  /** error: a failure on this connection, with the reason people need (the web server sees only a close). */
  error(phase: string, err: Error, message = err.message): void {
    if (!isTracing()) return;
    const code = (err as { code?: unknown }).code;
    publish({ ev: 'error', level: Level.error, mode: 'tap', phase, conn: this.conn, msg: message, stack: err.stack,
      ...(typeof code === 'string' ? { code } : {}) });
  }

  /**
   * close: the connection is gone. Requests still in flight end as aborted: 502 when the upstream
   * went first (what nginx answers), 499 when the web server did (nginx's "client closed").
   */
  close(why: string, upstreamFirst: boolean, failure: boolean): void {
    for (const req of this.#requests.values()) this.#end(req, upstreamFirst ? 502 : 499, [], 0, true);
    this.#requests.clear();
    if (!isTracing()) return;
    publish({ ev: 'conn.close', mode: 'tap', conn: this.conn, msg: `connection ${this.conn} closed: ${why}`,
      ...(failure ? { level: Level.warn, error: why } : {}) });
  }

  /** inFlight: request ids between BEGIN_REQUEST and END_REQUEST. */
  get inFlight(): number[] {
    return [...this.#requests.keys()];
  }

  #onRecord(dir: 'in' | 'out', record: FastCGIRecord): void {
    let req = this.#requests.get(record.requestId);
    if (dir === 'in' && record.type === RecordType.BeginRequest && record.requestId !== 0) {
      req = this.#begin(record);
    }
    if (isTracing()) publish(recordEvent(record, dir, this.conn, 'tap', req?.rid));
    if (req) this.#track(req, dir, record);
  }

  #begin(record: FastCGIRecord): TapRequest {
    let role = '?';
    try {
      role = roleName(decodeBeginRequestBody(record.content).role);
    } catch {
      // shown as '?'; the record event says it was malformed
    }
    const req: TapRequest = {
      rid: newRid(), requestId: record.requestId, role, started: process.hrtime.bigint(),
      params: new ParamsStream(Number.MAX_SAFE_INTEGER), method: '', uri: '', bytesIn: 0, bytesOut: 0,
      head: [], headBytes: 0, aborted: false,
    };
    this.#requests.set(record.requestId, req);
    return req;
  }

  #track(req: TapRequest, dir: 'in' | 'out', record: FastCGIRecord): void {
    const { content } = record;
    if (dir === 'in') {
      if (record.type === RecordType.Params) this.#params(req, content);
      else if (record.type === RecordType.Stdin) req.bytesIn += content.length;
      else if (record.type === RecordType.AbortRequest) req.aborted = true;
      return;
    }
    if (record.type === RecordType.Stdout) {
      req.bytesOut += content.length;
      if (req.headBytes < MAX_HEAD && content.length > 0) {
        req.head.push(Buffer.from(content.subarray(0, MAX_HEAD - req.headBytes)));
        req.headBytes += Math.min(content.length, MAX_HEAD - req.headBytes);
      }
    } else if (record.type === RecordType.EndRequest) {
      let appStatus = 0;
      try {
        appStatus = decodeEndRequestBody(content).appStatus;
      } catch {
        // a malformed END_REQUEST still ends the request
      }
      const { status, headers } = responseHead(Buffer.concat(req.head));
      this.#requests.delete(req.requestId);
      this.#end(req, status, headers, appStatus, req.aborted);
    }
  }

  #params(req: TapRequest, content: Buffer): void {
    if (content.length > 0) {
      req.params.append(Buffer.from(content));
      return;
    }
    let pairs: Array<[string, string]>;
    try {
      pairs = req.params.decode();
    } catch (err) {
      this.error('params', err as Error, `request ${req.requestId}: PARAMS do not decode: ${(err as Error).message}`);
      return;
    }
    const params = paramsFromPairs(pairs);
    req.method = params.get('REQUEST_METHOD') ?? '';
    req.uri = params.get('REQUEST_URI') ?? `${params.get('SCRIPT_NAME') ?? ''}${params.get('PATH_INFO') ?? ''}`;
    let url = req.uri;
    let mountPoint = '';
    try {
      ({ url, mountPoint } = createRequestHead(params));
    } catch {
      // not an HTTP request (an authorizer, a bare test client): shown by its URI
    }
    if (!isTracing()) return;
    publish({ ev: 'request.start', mode: 'tap', rid: req.rid, requestId: req.requestId, conn: this.conn, method: req.method,
      uri: req.uri, url, mountPoint, role: req.role, params: redactParams(pairs), msg: `${req.method} ${req.uri}` });
  }

  #end(req: TapRequest, status: number, headers: Array<[string, string]>, appStatus: number, aborted: boolean): void {
    if (!isTracing()) return;
    const durationMs = Math.round(Number(process.hrtime.bigint() - req.started) / 1000) / 1000;
    publish({
      ev: 'request.end', mode: 'tap', rid: req.rid, requestId: req.requestId, method: req.method, uri: req.uri, status,
      level: status >= 500 ? Level.error : status >= 400 ? Level.warn : Level.info, headers: redactHeaders(headers),
      bytesIn: req.bytesIn, bytesOut: req.bytesOut, durationMs, appStatus, aborted,
      msg: `${req.method} ${req.uri} ${aborted ? `aborted (${status})` : status} ${durationMs.toFixed(1)}ms`,
    });
  }
}

/** responseHead: status and headers of a CGI response head; 502 when the app sent none (nginx's answer). */
function responseHead(stdout: Buffer): { status: number; headers: Array<[string, string]> } {
  try {
    const parsed = parseCgiResponse(stdout);
    return { status: parsed.status, headers: parsed.headers };
  } catch {
    return { status: 502, headers: [] };
  }
}
