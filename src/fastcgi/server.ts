import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync, statSync } from 'node:fs';
import { type Address, formatAddress } from '../net/address';
import { Connection, type ConnectionObserver, type ResponderContext } from './connection';
import { ConnectionError } from './errors';
import type { FcgiRequest } from './request';

/** Where to listen: an address, or an inherited listening socket on a file descriptor (fd 0). */
export type ListenTarget = Address | { kind: 'fd'; fd: number };

/** FastCGIServerOptions: limits and hooks; each limit is answered truthfully in GET_VALUES. */
export interface FastCGIServerOptions {
  /** maxConns: FCGI_MAX_CONNS; connections beyond it are closed at once. Default 1024. */
  maxConns?: number;
  /** maxReqs: FCGI_MAX_REQS; requests beyond it get END_REQUEST(OVERLOADED). Default 1024. */
  maxReqs?: number;
  /** multiplex: FCGI_MPXS_CONNS; when false a second request on a connection gets CANT_MPX_CONN. Default true. */
  multiplex?: boolean;
  /** maxParamsBytes: bytes of PARAMS per request before a 431. Default 1 MiB. */
  maxParamsBytes?: number;
  /** webServerAddrs: FCGI_WEB_SERVER_ADDRS; TCP peers not listed are refused. Default from the environment. */
  webServerAddrs?: string[];
  /** socketMode: permissions of a Unix socket this server creates (e.g. 0o660). Default: umask. */
  socketMode?: number;
  observer?: ConnectionObserver | null;
  onRequest(request: FcgiRequest, conn: Connection): void;
  /** onConnection: a connection was accepted (for tracing). */
  onConnection?(conn: Connection): void;
}

/** parseWebServerAddrs: FCGI_WEB_SERVER_ADDRS is a comma-separated list of IP addresses. */
export function parseWebServerAddrs(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * FastCGIServer: accepts web-server connections on an address or an inherited socket, and shuts
 * down gracefully: stop accepting, let in-flight requests finish, close idle connections.
 */
export class FastCGIServer {
  readonly server: Server;
  #ctx: ResponderContext;
  #connections = new Set<Connection>();
  #allowed: Set<string> | null;
  #options: FastCGIServerOptions;
  #unixPath: string | null = null;

  constructor(options: FastCGIServerOptions) {
    this.#options = options;
    this.#ctx = {
      maxConns: options.maxConns ?? 1024,
      maxReqs: options.maxReqs ?? 1024,
      multiplex: options.multiplex ?? true,
      maxParamsBytes: options.maxParamsBytes ?? 1024 * 1024,
      inFlight: { count: 0 },
      draining: false,
      onRequest: options.onRequest,
      observer: options.observer ?? null,
    };
    const addrs = options.webServerAddrs ?? parseWebServerAddrs(process.env['FCGI_WEB_SERVER_ADDRS']);
    this.#allowed = addrs ? new Set(addrs.map(normaliseIp)) : null;
    this.server = createServer({ noDelay: true }, (socket) => this.#serverOnConnection(socket));
    this.server.maxConnections = this.#ctx.maxConns;
  }

  /** inFlight: requests in flight across all connections. */
  get inFlight(): number {
    return this.#ctx.inFlight.count;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** listen: resolves once listening; a stale Unix socket file is replaced. */
  listen(target: ListenTarget): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      const done = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      if (target.kind === 'fd') {
        this.server.listen({ fd: target.fd }, done);
      } else if (target.kind === 'unix') {
        removeStaleSocket(target.path);
        this.#unixPath = target.path;
        this.server.listen(target.path, () => {
          if (this.#options.socketMode !== undefined) chmodSync(target.path, this.#options.socketMode);
          done();
        });
      } else {
        this.server.listen(target.port, target.host || undefined, done);
      }
    });
  }

  /** address: what this server listens on, formatted as an Address string. */
  addressString(): string {
    const a = this.server.address();
    if (a === null) return '';
    if (typeof a === 'string') return `unix:${a}`;
    return formatAddress({ kind: 'tcp', host: a.address, port: a.port });
  }

  #serverOnConnection(socket: Socket): void {
    if (this.#allowed && socket.remoteAddress !== undefined && !this.#allowed.has(normaliseIp(socket.remoteAddress))) {
      if (this.#ctx.observer?.enabled()) {
        this.#ctx.observer.error?.(null, new ConnectionError('FCGI_ERR_ADDRESS_REFUSED',
          `${socket.remoteAddress} is not in FCGI_WEB_SERVER_ADDRS`), 'accept');
      }
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this.#ctx);
    this.#connections.add(conn);
    const observer = this.#ctx.observer;
    if (observer?.enabled()) observer.open?.(conn);
    conn.whenClosed(() => {
      this.#connections.delete(conn);
      if (observer?.enabled()) observer.close?.(conn);
    });
    this.#options.onConnection?.(conn);
    if (this.#ctx.draining) conn.closeWhenIdle();
  }

  /**
   * close: graceful shutdown. Stops accepting, closes idle connections, and resolves when every
   * in-flight request has ended or `drainMs` has passed (then the rest are destroyed).
   */
  close(drainMs = 30_000): Promise<void> {
    this.#ctx.draining = true;
    return new Promise((resolve) => {
      this.server.close();
      for (const conn of this.#connections) conn.closeWhenIdle();
      const timer = setTimeout(() => {
        for (const conn of this.#connections) conn.socket.destroy();
      }, drainMs);
      timer.unref();
      const check = (): void => {
        if (this.#connections.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const conn of this.#connections) conn.whenClosed(check);
      check();
    });
  }

  /** unixPath: the socket file this server created, if any. */
  get unixPath(): string | null {
    return this.#unixPath;
  }
}

/** removeStaleSocket: a socket file left by a dead process would make listen fail with EADDRINUSE. */
function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}
