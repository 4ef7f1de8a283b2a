import { CgiError } from '../cgi/errors';
import { createRequestHead, type RequestHeadOptions } from '../cgi/request-head';
import { encodeErrorResponse } from '../cgi/response-head';
import type { LoadedApp } from '../launch/load-app';
import type { Exchange } from './exchange';
import { type NodeServeOptions, serveNode } from './node';
import { requestContext } from '../trace/console-capture';
import { traceRequest } from '../trace/request-events';

/** ExchangeHandlerOptions: the request mapping and failure display, normalised once. */
export interface ExchangeHandlerOptions extends RequestHeadOptions, NodeServeOptions {}

/**
 * createExchangeHandler: the middle both modes share: params -> request head -> app -> response.
 * A request the params cannot describe gets a 400 without reaching the app.
 */
export function createExchangeHandler(app: LoadedApp, options: ExchangeHandlerOptions = {}): (exchange: Exchange) => void {
  const headOptions: RequestHeadOptions = { stripMountPoint: options.stripMountPoint !== false, scriptFile: options.scriptFile };
  return (exchange) => {
    let head;
    try {
      head = createRequestHead(exchange.params, headOptions);
    } catch (err) {
      if (!(err instanceof CgiError)) throw err;
      exchange.writeStderr(`dualcgi: ${err.code}: ${err.message}\n`);
      exchange.write(encodeErrorResponse(err.status, `${err.status} ${err.code}`), () => {});
      exchange.end(undefined, 1);
      return;
    }
    if (app.kind !== 'node') {
      exchange.write(encodeErrorResponse(500, 'fetch-style apps are not supported by this version of dualcgi'), () => {});
      exchange.end(undefined, 1);
      return;
    }
    const trace = traceRequest(exchange, head);
    if (trace === null) {
      serveNode(app.listener, exchange, head, options);
      return;
    }
    const traced: NodeServeOptions = {
      ...options,
      onError(err, phase) {
        options.onError?.(err, phase);
        trace.fail(err, phase);
      },
      onFinish(res) {
        options.onFinish?.(res);
        trace.finish(res, res.statusCode);
      },
    };
    // Console output of this request's code is attributed to it (trace/console-capture).
    requestContext.run(trace.rid, () => serveNode(app.listener, exchange, head, traced));
  };
}
