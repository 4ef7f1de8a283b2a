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
/** SECRET_HEADER_NAMES: response and request headers whose values are secret, lower case. */
export const SECRET_HEADER_NAMES: readonly string[] = ['set-cookie', 'authorization', 'cookie', 'proxy-authorization'];
const SECRET_HEADERS = new Set(SECRET_HEADER_NAMES);
/** SECRET_PARAM_LENGTH: 1 at the length of each secret param's name (11, 13, 18 and 24). */
const SECRET_PARAM_LENGTH = new Uint8Array(Math.max(...[...SECRET_PARAMS].map((name) => name.length)) + 1);
for (const name of SECRET_PARAMS) SECRET_PARAM_LENGTH[name.length] = 1;

/** isSecretParam: a param whose value is hidden (unless secrets are shown). */
export function isSecretParam(name: string): boolean {
  return !traceOptions.showSecrets && isSecretParamName(name);
}

/**
 * isSecretParamLength: a name of `n` characters can be a secret param's. Tested first (the wire
 * mirror before it makes a name's string): the names have four lengths, and most params other ones.
 */
export function isSecretParamLength(n: number): boolean {
  return n < SECRET_PARAM_LENGTH.length && SECRET_PARAM_LENGTH[n] === 1;
}

/**
 * isSecretParamName: a param whose value is secret, whatever the options (the wire mirror masks by
 * it in the serving process, the reader shows those values redacted).
 */
export function isSecretParamName(name: string): boolean {
  return isSecretParamLength(name.length) && SECRET_PARAMS.has(name);
}

/** isSecretHeaderName: a header whose value is secret, whatever the options (`lowerName` in lower case). */
export function isSecretHeaderName(lowerName: string): boolean {
  return SECRET_HEADERS.has(lowerName);
}

/** isSecretHeader: a response header whose value is hidden (unless secrets are shown). */
export function isSecretHeader(name: string): boolean {
  return !traceOptions.showSecrets && SECRET_HEADERS.has(name.toLowerCase());
}

/** redactParams: CGI params with secret values replaced. */
export function redactParams(pairs: Iterable<readonly [string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of pairs) {
    out.push([name, isSecretParam(name) ? REDACTED : value]);
  }
  return out;
}

/** redactHeaders: response headers with Set-Cookie (and friends) values replaced. */
export function redactHeaders(headers: Iterable<readonly [string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    out.push([name, isSecretHeader(name) ? REDACTED : value]);
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
