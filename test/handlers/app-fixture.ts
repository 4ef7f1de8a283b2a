import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ClientError } from '../../src/client/errors';
import { FastCGIClientConnection, type FastCGIResponse } from '../../src/client/fastcgi-client';
import { buildCgiParams, type CgiParamsOptions } from '../../src/client/params';
import { type CgiResponse, parseCgiResponse } from '../../src/client/cgi-response';
import type { ConnectionLimits } from '../../src/fastcgi/limits';
import { FastCGIServer } from '../../src/fastcgi/server';
import { createExchangeHandler, type ExchangeHandlerOptions } from '../../src/handlers/serve';
import type { LoadedApp } from '../../src/launch/load-app';
import { partialResponse, streamCollector } from './fixture';
import { encodeRecord, encodeStream, RecordType, Role } from '../../src/protocol';

/** AppRequest: one request: CGI params options plus the FastCGI role, body and DATA stream. */
export type AppRequest = Partial<CgiParamsOptions> & {
  body?: Buffer | Readable;
  /** extra: params added after buildCgiParams' (a later duplicate wins). */
  extra?: Array<[string, string]>;
  /** drop: params removed (an Authorizer gets no CONTENT_LENGTH, PATH_INFO, SCRIPT_NAME). */
  drop?: string[];
  role?: Role;
  /** data: FCGI_DATA bytes (Filter role), sent after STDIN and ended by the empty record. */
  data?: Buffer;
};

/**
 * AppReply: a parsed CGI response plus what the FastCGI client saw. `broken`: the connection closed
 * before END_REQUEST (a response that failed after its head: Exchange.breakResponse); then
 * `appStatus` is -1 and `raw` holds what STDOUT and STDERR brought.
 */
export type AppReply = CgiResponse & { stderr: string; appStatus: number; raw: FastCGIResponse; broken: boolean };

/** ServedApp: any app (Node listener or fetch) behind a real FastCGIServer on a Unix socket. */
export interface ServedApp {
  address: string;
  errors: Array<{ err: Error; phase: string }>;
  request(target: string, opts?: AppRequest): Promise<AppReply>;
  close(): Promise<void>;
}

/** serveApp: the path dispatch() takes in FastCGI mode, for a loaded app of either kind. */
export async function serveApp(app: LoadedApp, options: ExchangeHandlerOptions = {},
  limits?: Partial<ConnectionLimits>): Promise<ServedApp> {
  const errors: Array<{ err: Error; phase: string }> = [];
  const handle = createExchangeHandler(app, { ...options, onError: (err, phase) => errors.push({ err, phase }) });
  const server = new FastCGIServer({ onRequest: (req) => handle(req), ...(limits ? { limits } : {}) });
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-app-'));
  const path = join(dir, 'app.sock');
  await server.listen({ kind: 'unix', path });
  const address = `unix:${path}`;
  return {
    address,
    errors,
    async request(target, opts = {}) {
      const { body, extra, drop, role, data, ...paramOpts } = opts;
      const bodyLength = Buffer.isBuffer(body) ? body.length : opts.bodyLength;
      const params = [...buildCgiParams({ target, ...paramOpts, bodyLength }), ...(extra ?? [])]
        .filter(([name]) => !drop?.includes(name));
      const conn = await FastCGIClientConnection.connect(address);
      const streams = streamCollector();
      try {
        const pending = conn.request({ params, requestId: 1, onRecord: streams.onRecord, ...(body !== undefined ? { body } : {}), ...(role ? { role } : {}) });
        if (data !== undefined) {
          // After the body's end record, which the client writes a few microtasks later.
          await new Promise((resolve) => setImmediate(resolve));
          for (const record of encodeStream(RecordType.Data, 1, data)) conn.sendRaw(record);
          conn.sendRaw(encodeRecord(RecordType.Data, 1));
        }
        let r: FastCGIResponse;
        try {
          r = await pending;
        } catch (err) {
          if ((err as ClientError).code !== 'CLIENT_ERR_CLOSED') throw err;
          r = { requestId: 1, stdout: streams.stdout(), stderr: streams.stderr(), appStatus: -1, protocolStatus: -1, records: [] };
          return { ...partialResponse(r.stdout), stderr: r.stderr.toString(), appStatus: -1, raw: r, broken: true };
        }
        return { ...parseCgiResponse(r.stdout), stderr: r.stderr.toString(), appStatus: r.appStatus, raw: r, broken: false };
      } finally {
        conn.destroy();
      }
    },
    close: async () => {
      await server.close(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
