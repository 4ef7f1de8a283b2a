/** Redaction of secrets in trace events (DESIGN "Trace events": on unless asked for). */

export const REDACTED = '[redacted]';

/** TraceOptions: set once per process by installTrace. */
export const traceOptions = {
  /** showSecrets: include Authorization/Cookie/Set-Cookie values and body bytes. */
  showSecrets: false,
  /** previewBytes: how much of a stream record's content a record event shows. */
  previewBytes: 256,
};

const SECRET_PARAMS = new Set(['HTTP_AUTHORIZATION', 'HTTP_COOKIE', 'HTTP_PROXY_AUTHORIZATION', 'PHP_AUTH_PW', 'REMOTE_PASSWD']);
const SECRET_HEADERS = new Set(['set-cookie', 'authorization', 'cookie', 'proxy-authorization']);

/** isSecretParam: a param whose value is hidden (unless secrets are shown). */
export function isSecretParam(name: string): boolean {
  return !traceOptions.showSecrets && SECRET_PARAMS.has(name);
}

/**
 * isSecretParamName: a param whose value is secret, whatever the options (the wire mirror masks by
 * it in the serving process, the reader shows those values redacted). A length test first: the
 * names are 11, 13, 18 and 24 characters long, and most params are not.
 */
export function isSecretParamName(name: string): boolean {
  const n = name.length;
  return (n === 11 || n === 13 || n === 18 || n === 24) && SECRET_PARAMS.has(name);
}

/** isSecretHeader: a response header whose value is hidden (unless secrets are shown). */
export function isSecretHeader(name: string): boolean {
  return !traceOptions.showSecrets && SECRET_HEADERS.has(name.toLowerCase());
}

/** redactParams: CGI params with secret values replaced. */
export function redactParams(pairs: Iterable<readonly [string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of pairs) {
    out.push([name, !traceOptions.showSecrets && SECRET_PARAMS.has(name) ? REDACTED : value]);
  }
  return out;
}

/** redactHeaders: response headers with Set-Cookie (and friends) values replaced. */
export function redactHeaders(headers: Iterable<readonly [string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    out.push([name, !traceOptions.showSecrets && SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value]);
  }
  return out;
}

/** preview: the first bytes of content as text: printable ASCII kept, the rest escaped as \xNN. */
export function preview(content: Buffer, limit = traceOptions.previewBytes): string {
  const n = Math.min(content.length, limit);
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = content[i]!;
    if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return content.length > limit ? `${out}…` : out;
}
