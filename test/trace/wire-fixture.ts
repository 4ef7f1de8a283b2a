/** Wire frames a FastCGI connection would append for a request and its response (WireMirror, the real encoder). */
import { decodeParamList } from '../../src/fastcgi/param-list';
import { DEFAULT_LIMITS } from '../../src/fastcgi/limits';
import { encodeBeginRequest, encodeEndRequest, encodePairs, FCGI_KEEP_CONN, ProtocolStatus, RecordType, Role } from '../../src/protocol';
import type { GroupItem } from '../../src/trace/group-scan';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import type { WireMirror } from '../../src/trace/wire-mirror';

export const COOKIE = 'session=s3cret-cookie';
export const AUTH = 'Basic czNjcmV0LWF1dGg=';
export const SET_COOKIE = 'sid=s3cret-set-cookie';
export const BODY = 'top-secret-body-bytes';
export const PARAMS: Array<[string, string]> = [
  ['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/app/things?x=1'], ['SCRIPT_NAME', '/app'], ['PATH_INFO', '/things'],
  ['QUERY_STRING', 'x=1'], ['CONTENT_LENGTH', String(BODY.length)], ['HTTP_COOKIE', COOKIE], ['HTTP_AUTHORIZATION', AUTH],
  ['HTTP_HOST', 'example.test'],
];
export const HEAD = `Status: 404 Not Found\r\nContent-Type: text/plain\r\nset-COOKIE: ${SET_COOKIE}\r\n\r\n`;

const content = (record: Buffer): Buffer => record.subarray(8, 8 + record.readUInt16BE(4));

/** Mirror: the frames a connection appends for requests; `ridOf` its rid numbers. */
export function request(m: WireMirror, conn: number, rid: number, requestId: number, body = BODY): void {
  m.recordIn(conn, rid, RecordType.BeginRequest, requestId, 8, 0, content(encodeBeginRequest(requestId, Role.Responder, FCGI_KEEP_CONN)), false);
  const params = encodePairs(PARAMS);
  // The stream in two records, cut inside a pair: the reader counts whole pairs per record as before.
  const cut = 20;
  m.recordIn(conn, rid, RecordType.Params, requestId, cut, 0, params.subarray(0, cut), false);
  m.recordIn(conn, rid, RecordType.Params, requestId, params.length - cut, 0, params.subarray(cut), false);
  m.recordIn(conn, rid, RecordType.Params, requestId, 0, 0, Buffer.alloc(0), false);
  m.params(conn, rid, requestId, params, decodeParamList(params, DEFAULT_LIMITS));
  m.recordIn(conn, rid, RecordType.Stdin, requestId, body.length, 0, Buffer.from(body), false);
}

export function respond(m: WireMirror, conn: number, rid: number, requestId: number): void {
  const out = Buffer.from(`${HEAD}not found: ${BODY}`, 'latin1');
  m.tick();
  m.recordOut(conn, rid, RecordType.Stdout, requestId, out.length, 0, out, 0, { wireHead: 0 });
  const end = content(encodeEndRequest(requestId, 0, ProtocolStatus.RequestComplete));
  m.recordOut(conn, rid, RecordType.EndRequest, requestId, 8, 0, end, 0, null);
}

export type Ev = Record<string, unknown>;

/** read: lines through the reader every dualcgi consumer uses (with summaries: the dashboard's way). */
export function read(lines: string[], summaries = false): Array<ReadItem | GroupItem> {
  const items: Array<ReadItem | GroupItem> = [];
  const reader = new NdjsonReader<ReadItem | GroupItem>((i) => items.push(i), { summaries });
  for (const line of lines) reader.push(line);
  return items;
}

/** events: the events the items stand for (a summary expanded). */
export const events = (items: Array<ReadItem | GroupItem>): Ev[] => items.flatMap((i) => (i.kind === 'event' ? [i.event as unknown as Ev]
  : i.kind === 'group' ? i.expand!().flatMap((e) => (e.kind === 'event' ? [e.event as unknown as Ev] : [])) : []));
