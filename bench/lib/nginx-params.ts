// What nginx sends as FastCGI params for `GET /` on the bench's set-up (fastcgi_params, PATH_INFO),
// in its order: the request the probes replay (trace-probe.ts, wire-mirror-micro.ts).
export const NGINX_GET_PARAMS: ReadonlyArray<readonly [string, string]> = [
  ['QUERY_STRING', ''], ['REQUEST_METHOD', 'GET'], ['CONTENT_TYPE', ''], ['CONTENT_LENGTH', ''], ['SCRIPT_NAME', ''],
  ['REQUEST_URI', '/'], ['DOCUMENT_URI', '/'], ['DOCUMENT_ROOT', '/tmp/dualcgi-bench/nginx/html'], ['SERVER_PROTOCOL', 'HTTP/1.1'],
  ['REQUEST_SCHEME', 'http'], ['GATEWAY_INTERFACE', 'CGI/1.1'], ['SERVER_SOFTWARE', 'nginx/1.22.1'], ['REMOTE_ADDR', '127.0.0.1'],
  ['REMOTE_PORT', '60468'], ['REMOTE_USER', ''], ['SERVER_ADDR', '127.0.0.1'], ['SERVER_PORT', '45735'], ['SERVER_NAME', ''],
  ['REDIRECT_STATUS', '200'], ['HTTP_HOST', '127.0.0.1'], ['PATH_INFO', '/'],
];
