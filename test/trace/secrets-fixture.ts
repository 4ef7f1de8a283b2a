/** The secrets a trace must never carry unless they are asked for (DESIGN "Trace events"), listed here apart from src/ so a name dropped from src/trace/redact.ts fails a test. */

/** SECRET_PARAMS: the params whose values are hidden. */
export const SECRET_PARAMS: readonly string[] = ['HTTP_AUTHORIZATION', 'HTTP_COOKIE', 'HTTP_PROXY_AUTHORIZATION', 'PHP_AUTH_PW', 'REMOTE_PASSWD'];
/** SECRET_HEADERS: the headers whose values are hidden (any case). */
export const SECRET_HEADERS: readonly string[] = ['Set-Cookie', 'Authorization', 'Cookie', 'Proxy-Authorization'];
