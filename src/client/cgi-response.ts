import { STATUS_CODES } from 'node:http';
import { ClientError } from './errors';

/**
 * ResponseKind: the three CGI response types of RFC 3875 6.2: a document, a local redirect (a
 * `Location` path the server re-processes internally) and a client redirect (an absolute URI).
 */
export type ResponseKind = 'document' | 'local-redirect' | 'client-redirect';

/** CgiResponse: a parsed CGI response. `headers` keep order and repeats, without `Status`. */
export interface CgiResponse {
  status: number;
  statusText: string;
  kind: ResponseKind;
  headers: Array<[name: string, value: string]>;
  body: Buffer;
  /** headBytes: length of the head including its blank line, so `raw.subarray(headBytes)` is the body. */
  headBytes: number;
}

/** RFC 9110 token characters: what a header field name may consist of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * parseCgiResponse: a CGI response (RFC 3875 6.2, 6.3) as a web server reads it from a script's
 * stdout or FastCGI STDOUT: header lines ended by LF or CRLF, a blank line, the body. `Status` gives
 * the status (default 200); `Location` without it is a redirect: 302 for an absolute URI, a local
 * redirect (kept at 200, the server would serve the other path) for a path. Header bytes are read as
 * latin-1. Throws CLIENT_ERR_BAD_HEAD where Apache answers 500 "malformed header from script" or
 * "End of script output before headers".
 */
export function parseCgiResponse(buf: Buffer): CgiResponse {
  const { lines, headBytes } = splitHead(buf);
  const headers: Array<[string, string]> = [];
  let statusValue: string | undefined;
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length > 0) {
      // obs-fold continuation line (RFC 9110 5.5): part of the previous value.
      const last = headers[headers.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) throw badHeaderLine(line);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') statusValue = value;
    else headers.push([name, value]);
  }
  const location = headers.find(([name]) => name.toLowerCase() === 'location')?.[1];
  let kind: ResponseKind = 'document';
  if (location !== undefined) kind = location.startsWith('/') ? 'local-redirect' : 'client-redirect';
  let status = kind === 'client-redirect' ? 302 : 200;
  let statusText: string | undefined;
  if (statusValue !== undefined) {
    const m = /^([1-9][0-9]{2})(?:[ \t]+(.*))?$/.exec(statusValue);
    if (!m) throw new ClientError('CLIENT_ERR_BAD_HEAD', `bad Status header ${JSON.stringify(statusValue)}: expected "Status: 404 Not Found"`);
    status = Number(m[1]);
    statusText = m[2];
  }
  return {
    status,
    statusText: statusText || STATUS_CODES[status] || 'Unknown',
    kind,
    headers,
    body: buf.subarray(headBytes),
    headBytes,
  };
}

/** splitHead: the header lines (without line ends) and the head's byte length including the blank line. */
function splitHead(buf: Buffer): { lines: string[]; headBytes: number } {
  if (buf.length === 0) {
    throw new ClientError('CLIENT_ERR_BAD_HEAD', 'the app wrote nothing (End of script output before headers)');
  }
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, start);
    if (lf === -1) {
      throw new ClientError('CLIENT_ERR_BAD_HEAD',
        `the response head has no blank line after ${lines.length} line(s) (End of script output before headers)`);
    }
    const end = lf > start && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    if (end === start) return { lines, headBytes: lf + 1 };
    lines.push(buf.toString('latin1', start, end));
    start = lf + 1;
  }
}

function badHeaderLine(line: string): ClientError {
  const shown = JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}...` : line);
  const hint = /^HTTP\/\d/.test(line)
    ? ': the app sent an HTTP status line; a CGI or FastCGI response starts with "Status: 200 OK"'
    : '';
  return new ClientError('CLIENT_ERR_BAD_HEAD', `malformed header line ${shown}${hint}`);
}

/**
 * formatHttpLike: the response as the browser would receive it (status line, headers, blank line,
 * body), for printing. The web server's own framing headers are not invented.
 */
export function formatHttpLike(resp: CgiResponse): Buffer {
  let head = `HTTP/1.1 ${resp.status} ${resp.statusText}\r\n`;
  for (const [name, value] of resp.headers) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), resp.body]);
}
