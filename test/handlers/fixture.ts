import { join } from 'node:path';
import type { ClientError } from '../../src/client/errors';
import { fastcgiRequest, type FastCGIClientRequest } from '../../src/client/fastcgi-client';
import { RecordType } from '../../src/protocol';
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
  get(target: string, opts?: Partial<CgiParamsOptions> & { body?: FastCGIClientRequest['body']; extra?: Array<[string, string]> }): Promise<Reply>;
  close(): Promise<void>;
}

/**
 * Reply: a parsed response. `broken`: the connection closed before END_REQUEST (a response that
 * failed after its head: Exchange.breakResponse); then `appStatus` is -1 and the response is what
 * STDOUT brought.
 */
export type Reply = CgiResponse & { stderr: string; appStatus: number; broken: boolean };

/** fetchReply: one request; a connection closed before END_REQUEST is a broken Reply, not an error. */
export async function fetchReply(address: string, req: FastCGIClientRequest): Promise<Reply> {
  const streams = streamCollector();
  try {
    const r = await fastcgiRequest(address, { ...req, onRecord: streams.onRecord });
    return { ...parseCgiResponse(r.stdout), stderr: r.stderr.toString(), appStatus: r.appStatus, broken: false };
  } catch (err) {
    if ((err as ClientError).code !== 'CLIENT_ERR_CLOSED') throw err;
    return { ...partialResponse(streams.stdout()), stderr: streams.stderr().toString(), appStatus: -1, broken: true };
  }
}

/** streamCollector: an onRecord keeping a request's STDOUT and STDERR bytes: what came before a break. */
export function streamCollector(): { onRecord(record: { type: number; content: Buffer }): void; stdout(): Buffer; stderr(): Buffer } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  return {
    onRecord(record) {
      if (record.type === RecordType.Stdout) stdout.push(Buffer.from(record.content));
      else if (record.type === RecordType.Stderr) stderr.push(Buffer.from(record.content));
    },
    stdout: () => Buffer.concat(stdout),
    stderr: () => Buffer.concat(stderr),
  };
}

/** partialResponse: what a broken response brought: nothing at all (status 0), or a head and some body. */
export function partialResponse(stdout: Buffer): CgiResponse {
  if (stdout.length === 0) return { status: 0, statusText: '', kind: 'document', headers: [], body: stdout, headBytes: 0 };
  return parseCgiResponse(stdout);
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
      return fetchReply(address, { params, ...(body !== undefined ? { body } : {}) });
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
