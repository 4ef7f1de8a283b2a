/**
 * dualcgi: serve a Node app through CGI and FastCGI from one entry script.
 *
 * Every runtime export is a getter that loads its module on first use: an entry script that only
 * calls dispatch() as a CGI hit must not pay for the FastCGI server, the protocol tables or the
 * fetch adapter (a CGI hit's cost is mostly module loading; see bench/ cgi suite).
 */
import type * as Dispatch from './launch/dispatch';
import type * as Detect from './launch/detect';
import type * as Node from './handlers/node';
import type * as Fetch from './handlers/fetch';
import type * as Roles from './handlers/roles';
import type * as Server from './fastcgi/server';
import type * as Head from './cgi/request-head';
import type * as Protocol from './protocol';

export type { DispatchOptions, Running } from './launch/dispatch';
export type { Detection } from './launch/detect';
export type { NodeListener, DualcgiRequest, RequestInfo } from './handlers/node';
export type { FetchEnv, FetchRequestInfo } from './handlers/fetch';
export type { AuthorizerVariables, FilterRequestInfo } from './handlers/roles';
export type { Exchange, Mode, RoleName } from './handlers/exchange';
export type { FastCGIServerOptions } from './fastcgi/server';
export type { RequestHead } from './cgi/request-head';

/** dispatch: detect how this process was launched and serve the app that way (see README). */
export function dispatch(options: Dispatch.DispatchOptions): Promise<Dispatch.Running> {
  return (require('./launch/dispatch') as typeof Dispatch).dispatch(options);
}

function lazy<T>(name: string, load: () => T): void {
  Object.defineProperty(exports, name, { enumerable: true, get: load });
}

export declare const detectMode: typeof Detect.detectMode;
export declare const serveNode: typeof Node.serveNode;
export declare const serveFetch: typeof Fetch.serveFetch;
export declare const allow: typeof Roles.allow;
export declare const deny: typeof Roles.deny;
export declare const allowResponse: typeof Roles.allowResponse;
export declare const denyResponse: typeof Roles.denyResponse;
export declare const FastCGIServer: typeof Server.FastCGIServer;
export declare const createRequestHead: typeof Head.createRequestHead;
export declare const protocol: typeof Protocol;

lazy('detectMode', () => (require('./launch/detect') as typeof Detect).detectMode);
lazy('serveNode', () => (require('./handlers/node') as typeof Node).serveNode);
lazy('serveFetch', () => (require('./handlers/fetch') as typeof Fetch).serveFetch);
lazy('allow', () => (require('./handlers/roles') as typeof Roles).allow);
lazy('deny', () => (require('./handlers/roles') as typeof Roles).deny);
lazy('allowResponse', () => (require('./handlers/roles') as typeof Roles).allowResponse);
lazy('denyResponse', () => (require('./handlers/roles') as typeof Roles).denyResponse);
lazy('FastCGIServer', () => (require('./fastcgi/server') as typeof Server).FastCGIServer);
lazy('createRequestHead', () => (require('./cgi/request-head') as typeof Head).createRequestHead);
lazy('protocol', () => require('./protocol') as typeof Protocol);
