import { connect, type Socket } from 'node:net';
import type {
  AppLogEvent, ErrorEvent, ProcessStartEvent, RecordEvent, RequestEndEvent, RequestStartEvent, TraceEvent,
} from '../../src/trace/events';
import type { ReadItem } from '../../src/trace/reader';

/**
 * Event fixtures shaped exactly like src/trace/events.ts, for feeding stores, tail and the
 * dashboard until (and besides) real traffic from dispatch().
 */

export interface RequestSpec {
  pid?: number;
  n?: number;
  method?: string;
  uri?: string;
  status?: number;
  durationMs?: number;
  time?: number;
  body?: string;
  log?: string;
  crash?: boolean;
  requestId?: number;
}

const base = (pid: number, time: number, ev: TraceEvent['ev'], msg: string): { level: number; time: number; pid: number; msg: string; ev: TraceEvent['ev'] } =>
  ({ level: 30, time, pid, msg, ev });

export function processStart(pid: number, mode: 'cgi' | 'fcgi', time = Date.now()): ProcessStartEvent {
  return { ...base(pid, time, 'process.start', 'process start'), ev: 'process.start', mode, reason: mode === 'fcgi' ? 'fd 0 is a listening socket' : 'GATEWAY_INTERFACE=CGI/1.1', app: '/srv/app/app.js', version: '1.2.3', user: 'www-data', node: 'v20.0.0' };
}

function params(spec: Required<Pick<RequestSpec, 'method' | 'uri'>>): Array<[string, string]> {
  const [path, query = ''] = spec.uri.split('?');
  return [
    ['GATEWAY_INTERFACE', 'CGI/1.1'], ['REQUEST_METHOD', spec.method], ['REQUEST_URI', spec.uri],
    ['SCRIPT_NAME', '/dispatch.fcgi'], ['PATH_INFO', path ?? '/'], ['QUERY_STRING', query],
    ['SERVER_NAME', 'localhost'], ['SERVER_PORT', '80'], ['HTTP_HOST', 'localhost'],
    ['HTTP_COOKIE', 'session=s3cret'], ['HTTP_USER_AGENT', 'curl/8.0'],
  ];
}

function record(pid: number, time: number, rid: string, requestId: number, dir: 'in' | 'out', type: string, contentLength: number, extra: Partial<RecordEvent> = {}): RecordEvent {
  return {
    ...base(pid, time, 'record', `${dir} ${type}`), level: 20, ev: 'record', mode: 'fcgi', conn: 1, dir, type, typeCode: 0,
    requestId, contentLength, paddingLength: (8 - (contentLength % 8)) % 8, rid, ...extra,
  };
}

function startEnd(pid: number, mode: string, rid: string, s: Required<RequestSpec>): [RequestStartEvent, RequestEndEvent] {
  const start: RequestStartEvent = {
    ...base(pid, s.time + 1, 'request.start', `${s.method} ${s.uri}`), ev: 'request.start', mode, rid, requestId: s.requestId,
    method: s.method, uri: s.uri, url: s.uri, mountPoint: '', role: 'RESPONDER', params: params(s),
  };
  const end: RequestEndEvent = {
    ...base(pid, s.time + s.durationMs, 'request.end', `${s.method} ${s.uri} ${s.status}`), ev: 'request.end', mode, rid, requestId: s.requestId,
    method: s.method, uri: s.uri, status: s.status, headers: [['Content-Type', 'text/html'], ['Set-Cookie', 'session=s3cret']],
    bytesIn: s.body.length, bytesOut: 1234, durationMs: s.durationMs, appStatus: 0, aborted: false,
  };
  return [start, end];
}

function logAndError(pid: number, mode: string, rid: string, s: Required<RequestSpec>): Array<AppLogEvent | ErrorEvent> {
  const out: Array<AppLogEvent | ErrorEvent> = [{ ...base(pid, s.time + 2, 'app.log', s.log), ev: 'app.log', mode, rid, stream: 'log', user: 'ann' }];
  if (s.crash) {
    out.push({
      ...base(pid, s.time + 3, 'error', 'boom: database unreachable'), level: 50, ev: 'error', mode, rid, phase: 'handler', requestId: s.requestId,
      stack: 'Error: boom: database unreachable\n    at handler (/srv/app/app.js:12:11)\n    at dispatch (/srv/app/node_modules/dualcgi/dist/src/launch/dispatch.js:40:5)',
    });
  }
  return out;
}

function fill(spec: RequestSpec): Required<RequestSpec> {
  const n = spec.n ?? 1;
  return {
    pid: spec.pid ?? 4242, n, method: spec.method ?? 'GET', uri: spec.uri ?? `/items/${n}?page=2`,
    status: spec.status ?? (spec.crash ? 500 : 200), durationMs: spec.durationMs ?? 12, time: spec.time ?? Date.now(),
    body: spec.body ?? '', log: spec.log ?? `loaded item ${n}`, crash: spec.crash ?? false, requestId: spec.requestId ?? 1,
  };
}

/** fcgiRequest: a whole FastCGI exchange: records in, request start, a log line, records out, end. */
export function fcgiRequest(spec: RequestSpec = {}): TraceEvent[] {
  const s = fill(spec);
  const rid = `${s.pid}-${s.n}`;
  const [start, end] = startEnd(s.pid, 'fcgi', rid, s);
  const t = s.time;
  const id = s.requestId;
  return [
    record(s.pid, t, rid, id, 'in', 'BEGIN_REQUEST', 8, { role: 'RESPONDER', flags: 1, keepConn: true }),
    record(s.pid, t, rid, id, 'in', 'PARAMS', 312, { params: params(s) }),
    record(s.pid, t, rid, id, 'in', 'PARAMS', 0, { params: [] }),
    start,
    ...(s.body ? [record(s.pid, t + 1, rid, id, 'in', 'STDIN', s.body.length, { preview: s.body })] : []),
    record(s.pid, t + 1, rid, id, 'in', 'STDIN', 0),
    ...logAndError(s.pid, 'fcgi', rid, s),
    record(s.pid, t + s.durationMs, rid, id, 'out', 'STDOUT', 61, { preview: `Status: ${s.status} OK\r\nContent-Type: text/html\r\n\r\n<h1>item {bold}${s.n}</h1>` }),
    record(s.pid, t + s.durationMs, rid, id, 'out', 'STDOUT', 0),
    record(s.pid, t + s.durationMs, rid, id, 'out', 'END_REQUEST', 8, { appStatus: 0, protocolStatus: 'REQUEST_COMPLETE' }),
    end,
  ];
}

/** cgiRequest: one CGI hit: its own process, no records. */
export function cgiRequest(spec: RequestSpec = {}): TraceEvent[] {
  const s = fill(spec);
  const rid = `${s.pid}-1`;
  const [start, end] = startEnd(s.pid, 'cgi', rid, s);
  return [
    processStart(s.pid, 'cgi', s.time),
    start,
    ...logAndError(s.pid, 'cgi', rid, s),
    end,
    { ...base(s.pid, s.time + s.durationMs + 1, 'process.exit', 'process exit'), ev: 'process.exit', mode: 'cgi', reason: 'request done', code: 0 },
  ];
}

/** item: an event as the reader delivers it. */
export function item(event: TraceEvent): ReadItem {
  return { kind: 'event', event: event as TraceEvent & Record<string, unknown> };
}

/** ndjson: events as NDJSON text. */
export function ndjson(events: TraceEvent[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** sendLines: connect to a trace socket, write `text`, and close. */
export function sendLines(path: string, text: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(path, () => socket.end(text));
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

/** waitFor: poll `check` until it returns a value or the deadline passes. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
