/**
 * dualcgi: serve a Node app through CGI and FastCGI from one entry script.
 *
 * Every runtime export is a getter that loads its module on first use: an entry script that only
 * calls dispatch() as a CGI hit must not pay for the FastCGI server, the protocol tables or the
 * fetch adapter (a CGI hit's cost is mostly module loading; see bench/ cgi suite).
 */
import type * as Dispatch from './launch/dispatch';
import type * as Boot from './launch/cgi-boot';
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
  return loadDispatch(options).dispatch(options);
}

/**
 * loadDispatch: launch/dispatch, and on what looks like a CGI hit (GATEWAY_INTERFACE CGI/x; the
 * real detection comes later) first the two speed tricks of the CGI path, each measured in the
 * bench/ cgi suite (bench/README.md):
 * - the compile cache (launch/compile-cache): V8 bytecode of every CommonJS module of the hit,
 *   the app's included ("dispatch.cgi (express app)" vs "plain node CGI + express");
 * - the CGI bundle (launch/build-cgi-bundle): the hit's own modules from one file
 *   ("dispatch.cgi (plain app)" vs "plain node CGI");
 * - with the compile cache, the resolution cache (launch/resolve-cache): require() answered from
 *   a table kept in the same blob ("dispatch.cgi (express app)").
 * With the cache on, launch/cgi-boot reads the blob and compiles the bundle from it; the compile
 * cache's hook and writer then come from the bundle (not compiled from source each hit).
 * DUALCGI_BUNDLE=off and DUALCGI_COMPILE_CACHE=off turn them off (to compare, or to debug with
 * the original file names in stack traces).
 */
function loadDispatch(options: Dispatch.DispatchOptions): typeof Dispatch {
  const env = process.env;
  if (env['GATEWAY_INTERFACE']?.startsWith('CGI/') && env['DUALCGI_WORKER'] !== '1') {
    const useBundle = env['DUALCGI_BUNDLE'] !== 'off';
    let load: Boot.BundleLoad | undefined;
    if (env['DUALCGI_COMPILE_CACHE'] !== 'off') {
      // launch/cgi-boot: the blob, the bundle compiled from it, the compile and resolution caches.
      load = (require('./launch/cgi-boot.js') as typeof Boot).bootCgi(__dirname, options.scriptPath ?? process.argv[1], useBundle);
    } else if (useBundle) {
      try {
        load = require('./cgi-bundle.js') as Boot.BundleLoad;
      } catch {
        load = undefined; // not built (tsc alone): the files below
      }
    }
    const bundled = load?.(__dirname, 'launch/dispatch.js') as typeof Dispatch | null | undefined;
    if (bundled) return bundled;
  }
  return require('./launch/dispatch') as typeof Dispatch;
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
