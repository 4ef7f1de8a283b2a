// Inputs of the codec suite: a typical request as nginx sends it (BEGIN_REQUEST, about 1.1 KB of
// PARAMS in one record, the empty PARAMS, the empty STDIN) and typical STDOUT payloads.
import { buildCgiParams, type HeaderPair } from '../../src/client/params';
import {
  FCGI_KEEP_CONN, RecordType, Role, encodeBeginRequest, encodePairs, encodeParams, encodeRecord,
} from '../../src/protocol';

/** TYPICAL_PARAMS_BYTES: the size the issue calls typical (about 1.1 KB of encoded pairs). */
export const TYPICAL_PARAMS_BYTES = 1100;

const BROWSER_HEADERS: HeaderPair[] = [
  ['Host', 'www.example.com'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['Accept-Language', 'en-US,en;q=0.9,de;q=0.8'],
  ['Accept-Encoding', 'gzip, deflate, br, zstd'],
  ['Referer', 'https://www.example.com/articles/2024/benchmarks?page=2'],
  ['Connection', 'keep-alive'],
  ['Upgrade-Insecure-Requests', '1'],
  ['Sec-Fetch-Mode', 'navigate'],
];

/**
 * typicalParams: the params of a browser GET through the classic rewrite, with a session cookie
 * sized so the encoded pairs come to TYPICAL_PARAMS_BYTES.
 */
export function typicalParams(): Array<[string, string]> {
  const build = (cookieLength: number): Array<[string, string]> => buildCgiParams({
    target: '/articles/2024/benchmarks?page=3&sort=new',
    headers: [...BROWSER_HEADERS, ['Cookie', `session=${'c'.repeat(cookieLength)}`]],
    documentRoot: '/srv/www/example',
  });
  // A cookie value past 127 bytes takes a 4-byte length: size it in two steps.
  let cookie = Math.max(1, 1 + TYPICAL_PARAMS_BYTES - encodePairs(build(1)).length);
  cookie = Math.max(1, cookie + TYPICAL_PARAMS_BYTES - encodePairs(build(cookie)).length);
  return build(cookie);
}

/** encodeTypicalRequest: one whole request on a kept-alive connection, as bytes. */
export function encodeTypicalRequest(requestId = 1): Buffer {
  return Buffer.concat([
    encodeBeginRequest(requestId, Role.Responder, FCGI_KEEP_CONN),
    ...encodeParams(requestId, typicalParams()),
    encodeRecord(RecordType.Stdin, requestId),
  ]);
}

/**
 * encodeSplitPairRequest: the same request with PARAMS cut into two records in the middle of a
 * pair (legal: spec 3.4, a params stream is one byte stream) — what fastcgi-stream gets wrong.
 */
export function encodeSplitPairRequest(requestId = 1): Buffer {
  const pairs = encodePairs(typicalParams());
  const cut = Math.floor(pairs.length / 2) + 3;
  return Buffer.concat([
    encodeBeginRequest(requestId, Role.Responder, FCGI_KEEP_CONN),
    encodeRecord(RecordType.Params, requestId, pairs.subarray(0, cut)),
    encodeRecord(RecordType.Params, requestId, pairs.subarray(cut)),
    encodeRecord(RecordType.Params, requestId),
    encodeRecord(RecordType.Stdin, requestId),
  ]);
}

/** chunk: split bytes into pieces of `size` (the last may be shorter). */
export function chunk(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(bytes.subarray(o, Math.min(bytes.length, o + size)));
  return out;
}

/** SMALL_RESPONSE: a hello response as an app writes it: CGI header block and body in one STDOUT. */
export const SMALL_RESPONSE = Buffer.from(
  'Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, World!\n');

/** LARGE_RESPONSE: a 64 KiB body (one write; more than one record's worth of content). */
export const LARGE_RESPONSE = Buffer.alloc(65536, 'x');
