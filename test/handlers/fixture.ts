import { join } from 'node:path';
import { fastcgiRequest, type FastCGIClientRequest } from '../../src/client/fastcgi-client';
import { buildCgiParams, type CgiParamsOptions } from '../../src/client/params';
import { type CgiResponse, parseCgiResponse } from '../../src/client/cgi-response';
import { FastCGIServer } from '../../src/fastcgi/server';
import type { NodeListener } from '../../src/handlers/node';
import { createExchangeHandler, type ExchangeHandlerOptions } from '../../src/handlers/serve';
import { tempDir } from '../temp-root';

/** Served: a node listener behind a real FastCGIServer on a Unix socket. */
export interface Served {
  server: FastCGIServer;
  address: string;
  errors: Error[];
  get(target: string, opts?: Partial<CgiParamsOptions> & { body?: FastCGIClientRequest['body']; extra?: Array<[string, string]> }): Promise<CgiResponse & { stderr: string; appStatus: number }>;
  close(): Promise<void>;
}

/** serveListener: the same path dispatch() uses in FastCGI mode, minus process-level concerns. */
export async function serveListener(listener: NodeListener, options: ExchangeHandlerOptions = {}): Promise<Served> {
  const errors: Error[] = [];
  const handle = createExchangeHandler({ kind: 'node', listener }, { ...options, onError: (err) => errors.push(err) });
  const server = new FastCGIServer({ onRequest: (req) => handle(req) });
  const path = join(tempDir('node-'), 'app.sock');
  await server.listen({ kind: 'unix', path });
  const address = `unix:${path}`;
  return {
    server,
    address,
    errors,
    async get(target, opts = {}) {
      const { body, extra, ...paramOpts } = opts;
      const bodyLength = Buffer.isBuffer(body) ? body.length : opts.bodyLength;
      const params = [...buildCgiParams({ target, ...paramOpts, bodyLength }), ...(extra ?? [])];
      const r = await fastcgiRequest(address, { params, ...(body !== undefined ? { body } : {}) });
      return { ...parseCgiResponse(r.stdout), stderr: r.stderr.toString(), appStatus: r.appStatus };
    },
    close: () => server.close(100),
  };
}

/** header: the first value of a header, case-insensitive. */
export function header(resp: CgiResponse, name: string): string | undefined {
  return resp.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** headerAll: every value of a header, in order. */
export function headerAll(resp: CgiResponse, name: string): string[] {
  return resp.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}
