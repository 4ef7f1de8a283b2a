/** dualcgi: serve a Node app through CGI and FastCGI from one entry script. */
export { dispatch, type DispatchOptions, type Running } from './launch/dispatch';
export { detectMode, type Detection } from './launch/detect';
export { serveNode, type NodeListener, type DualcgiRequest, type RequestInfo } from './handlers/node';
export type { Exchange, Mode, RoleName } from './handlers/exchange';
export { FastCGIServer, type FastCGIServerOptions } from './fastcgi/server';
export { createRequestHead, type RequestHead } from './cgi/request-head';
export * as protocol from './protocol';
