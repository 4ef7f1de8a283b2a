import type { ServerResponse } from 'node:http';
import type { RequestHead } from '../../src/cgi/request-head';
import type { Exchange } from '../../src/handlers/exchange';
import {
  encodeBeginRequest, encodeEndRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, type FastCGIRecord, ProtocolStatus,
  RecordDecoder, RecordType, Role,
} from '../../src/protocol';
import { publishNote, subscribe } from '../../src/trace/channel';
import { isNote, type TraceNote } from '../../src/trace/notes';
import { recordNote } from '../../src/trace/record-event';
import { traceRequest } from '../../src/trace/request-events';

/**
 * The notes a traced hello request publishes, made by the real code (recordNote over encoded
 * records, traceRequest with an exchange), in the order the FastCGI server makes them.
 */

export const SECRET_COOKIE = 'session=s3cret-cookie';
export const SECRET_SET_COOKIE = 'sid=s3cret-set-cookie';

function decodeOne(bytes: Buffer): FastCGIRecord {
  const out: FastCGIRecord[] = [];
  new RecordDecoder((r) => out.push(r)).push(bytes);
  return out[0]!;
}

/** HelloSpec: what varies between fixture requests. */
export interface HelloSpec {
  rid?: string;
  requestId?: number;
  conn?: number;
  uri?: string;
  status?: number;
  mode?: string;
  /** extraParam: one more param (other names: the params JSON takes a new base). */
  extraParam?: boolean;
}

/** publishHello: publish a hello request's notes on the trace channel, in the server's order. */
export function publishHello(spec: HelloSpec = {}): void {
  const { rid = 'p-1', requestId = 1, conn = 3, uri = '/hello?x="1"', status = 200, mode = 'fcgi' } = spec;
  const params: Array<[string, string]> = [
    ['REQUEST_METHOD', 'GET'], ['REQUEST_URI', uri], ['HTTP_COOKIE', SECRET_COOKIE], ['HTTP_USER_AGENT', 'curl/8 "é"'],
  ];
  if (spec.extraParam === true) params.push(['HTTP_X_EXTRA', '1']);
  const observe = (dir: 'in' | 'out', bytes: Buffer): void => {
    const note = recordNote(decodeOne(bytes), dir, conn, mode, rid);
    if (note === undefined) throw new Error('fixture record has no note');
    publishNote(note); // what fastcgi-observer.ts does with a note
  };
  observe('in', encodeBeginRequest(requestId, Role.Responder, FCGI_KEEP_CONN));
  const [paramsRecord, emptyParams] = encodeParams(requestId, params);
  observe('in', paramsRecord!);
  observe('in', emptyParams!);
  const exchange = {
    rid, mode, requestId, role: 'RESPONDER', params: new Map(params), bytesIn: 0, bytesOut: 14, aborted: false, onAbort: () => {},
  } as unknown as Exchange & { rid: string; bytesIn: number; bytesOut: number };
  const head = { method: 'GET', originalUrl: uri, url: uri, mountPoint: '' } as unknown as RequestHead;
  const trace = traceRequest(exchange, head)!;
  observe('out', encodeRecord(RecordType.Stdout, requestId, Buffer.from(`Status: ${status}\r\nSet-Cookie: ${SECRET_SET_COOKIE}\r\n\r\nbody`)));
  observe('in', encodeRecord(RecordType.Stdin, requestId));
  const res = { _header: `HTTP/1.1 ${status} X\r\nSet-Cookie: ${SECRET_SET_COOKIE}\r\nContent-Length: 14\r\n\r\n` } as unknown as ServerResponse;
  trace.finish(res, status);
  observe('out', encodeRecord(RecordType.Stdout, requestId));
  observe('out', encodeEndRequest(requestId, 0, ProtocolStatus.RequestComplete));
}

/** helloNotes: the notes publishHello publishes, caught from the channel. */
export function helloNotes(spec: HelloSpec = {}): TraceNote[] {
  const notes: TraceNote[] = [];
  const off = subscribe((m) => {
    if (isNote(m)) notes.push(m);
  });
  try {
    publishHello(spec);
  } finally {
    off();
  }
  return notes;
}
