import { STATUS_CODES } from 'node:http';
import { CgiError } from './errors';

/** HeaderList: response headers in order; a name may repeat (Set-Cookie). */
export type HeaderList = Array<readonly [name: string, value: string]>;

/**
 * Hop-by-hop headers that belong to the web server's connection with the client, not to a CGI
 * response: the server frames the response itself (RFC 3875 6.3.4; DESIGN "Known traps").
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/**
 * DROPPED_LINE: a header line httpHeadToCgi drops (hop-by-hop or an app's own `Status`). Every
 * header line follows a CRLF (the status line is first), so no /m flag: anchored on the CRLF, the
 * search is 37 instead of 49 ns on a hello head (measured alone).
 */
const DROPPED_LINE = /\r\n(?:connection|keep-alive|transfer-encoding|upgrade|proxy-connection|status)[ \t]*:/i;

/** isHopByHop: the header must not be sent to the web server. */
export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

/**
 * hasUnsafeChar: CR, LF or NUL would split or end the header block (response splitting). So would
 * a character above U+00FF: the head is written as latin1, which keeps a character's low byte
 * (U+010D U+010A became CR LF). Headers and Response refuse such values; a Response-like object's
 * statusText or headers (a polyfill) came through, and split the head.
 */
export function hasUnsafeChar(s: string): boolean {
  return /[\r\n\0\u0100-\uffff]/.test(s);
}

/**
 * encodeResponseHead: a CGI response head (RFC 3875 6.2): `Status:` first, then the headers, then
 * the empty line. Always sends Status, as every server is then unambiguous (FIELD-NOTES "Responses").
 * Throws CGI_ERR_HEADER_INJECTION rather than emit a header with CR/LF, CGI_ERR_BAD_STATUS for a
 * status that is not an integer from 100 to 999.
 */
export function encodeResponseHead(status: number, statusText: string | undefined, headers: HeaderList): string {
  // A Response-like object's status is not checked by a Response constructor: "Status: NaN" or
  // "Status: 99999" is a web server's 502 (an invalid upstream status).
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new CgiError('CGI_ERR_BAD_STATUS', `status ${String(status)} is not a three-digit HTTP status`, 500);
  }
  const reason = statusText || STATUS_CODES[status] || 'Unknown';
  if (hasUnsafeChar(reason)) throw injection('status text');
  let head = `Status: ${status} ${reason}\r\n`;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'status' || isHopByHop(lower)) continue;
    if (name === '' || hasUnsafeChar(name) || hasUnsafeChar(value) || name.includes(':')) throw injection(`header ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  return head + '\r\n';
}

function injection(what: string): CgiError {
  return new CgiError('CGI_ERR_HEADER_INJECTION', `${what} is empty or contains CR, LF, NUL, a colon or a character above U+00FF`, 500);
}

/**
 * httpHeadToCgi: node:http's serialized head ("HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n") to a
 * CGI head. node:http has already validated names and values; this swaps the status line for
 * `Status:` and drops hop-by-hop headers that node adds for its own connection handling.
 */
export function httpHeadToCgi(httpHead: string): string {
  // Fast path: nothing to drop (the Node adapter keeps node from adding its own Connection line),
  // so the head is kept whole: "HTTP/1.1 " (9 chars) becomes "Status: ". Splitting and
  // lower-casing every line was 2.8% of a hello request (bench/ nginx suite).
  if (!DROPPED_LINE.test(httpHead)) return `Status: ${httpHead.slice(9)}`;
  const firstEnd = httpHead.indexOf('\r\n');
  const statusLine = httpHead.slice(0, firstEnd);
  // "HTTP/1.1 " is 9 chars; what follows is "<code> <reason>".
  let out = `Status: ${statusLine.slice(9)}\r\n`;
  let start = firstEnd + 2;
  for (;;) {
    const end = httpHead.indexOf('\r\n', start);
    if (end === -1 || end === start) break;
    const line = httpHead.slice(start, end);
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    // A `Status` header set by the app (a CGI habit) would be a second status line: node's wins.
    if (!HOP_BY_HOP.has(name) && name !== 'status') out += line + '\r\n';
    start = end + 2;
  }
  return out + '\r\n';
}

/** encodeErrorResponse: a complete plain-text CGI response for failures before the app could answer. */
export function encodeErrorResponse(status: number, text: string): Buffer {
  const body = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
  const head = encodeResponseHead(status, undefined, [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
  ]);
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
