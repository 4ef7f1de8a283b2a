import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync } from 'node:fs';
import { type Address, listeningAddress } from '../net/address';
import { removeStaleSocket } from '../net/socket-file';
import { Connection, type ConnectionObserver, type ResponderContext } from './connection';
import { ConnectionError } from './errors';
import { type ConnectionLimits, normaliseLimits } from './limits';
import type { FcgiRequest } from './request';
import { coarseNow } from './coarse-clock';

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
  /** limits: per-connection limits and timeouts (fastcgi/limits.ts); defaults there. */
  limits?: Partial<ConnectionLimits>;
  /** webServerAddrs: FCGI_WEB_SERVER_ADDRS; TCP peers not listed are refused. Default from the environment. */
  webServerAddrs?: string[];
  /** socketMode: permissions of a Unix socket this server creates (e.g. 0o660). Default: umask. */
  socketMode?: number;
  /** socketOwner: uid/gid for a Unix socket this server creates (nginx workers run as www-data). */
  socketOwner?: { uid?: number; gid?: number };
  observer?: ConnectionObserver | null;
  onRequest(request: FcgiRequest, conn: Connection): void;
  /** onConnection: a connection was accepted (for tracing). */
  onConnection?(conn: Connection): void;
  /**
   * router: sees each accepted socket first (paused, nothing read yet); returning true means it
   * took the socket (handed it to another process), false that this server serves it.
   */
  router?: ((socket: Socket) => boolean) | null;
}

/**
 * HandBack: takes a kept-alive connection from a draining server at a request boundary (reading
 * stopped, nothing unread) and gives it to whoever serves now; calls `done` once the socket has
 * left this process (then it is destroyed here).
 */
export type HandBack = (socket: Socket, done: () => void) => void;

/**
 * stopReading: stop reading from the socket's handle at once, so bytes that arrive from now on
 * stay in the kernel and go with the socket to the process it is handed to. Node has no public
 * way: Socket#pause() keeps reading into its buffer. `reading = false` lets a later resume()
 * start again (net's tryReadStart checks it).
 */
export function stopReading(socket: Socket): void {
  const handle = (socket as unknown as { _handle: { reading?: boolean; readStop?(): number } | null })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}

/**
 * IDLE_CLOSE_MS: while draining, an idle connection is closed once it has carried no request for
 * this long; a busy one right after its response. Closing an idle kept-alive connection races with
 * the web server sending a request on it: nginx then retries elsewhere but counts a failure
 * against this backend (max_fails 1: with two upstreams, one reloading and one dead, that is a
 * 502). nginx reuses its most recently used connections first, so those stay busy and close after
 * a response, and the ones idle this long are the ones it is not about to pick. A connection that
 * has not sent its first request yet (just accepted, or just handed over) gets the same time.
 */
const IDLE_CLOSE_MS = 1000;

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
  #draining = false;
  /** #drainCheck: while draining, run after each connection closes. */
  #drainCheck: (() => void) | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  /** #handingBack: connections given to handBack, waiting to leave. */
  #handingBack = new WeakSet<Connection>();
  #requestsStarted = 0;
  /**
   * handBack: while draining, kept-alive connections go there at a request boundary instead of
   * being closed, so a web server never finds a connection closed under it (see IDLE_CLOSE_MS).
   */
  handBack: HandBack | null = null;
  /** router: see FastCGIServerOptions.router; may be changed while listening. */
  router: ((socket: Socket) => boolean) | null;

  constructor(options: FastCGIServerOptions) {
    this.#options = options;
    this.#ctx = {
      maxConns: options.maxConns ?? 1024,
      maxReqs: options.maxReqs ?? 1024,
      multiplex: options.multiplex ?? true,
      maxParamsBytes: options.maxParamsBytes ?? 1024 * 1024,
      limits: normaliseLimits(options.limits),
      inFlight: { count: 0 },
      // Stays false: a request that reaches a draining server is still served (its connection then
      // closes); refusing it with OVERLOADED would fail a request the web server already sent.
      draining: false,
      onRequest: (request, conn) => this.#serverOnRequest(request, conn),
      observer: options.observer ?? null,
      // onConnection may listen to the socket's 'data' (capture/writer.ts does): no own-buffer reads then.
      ownBufferReads: options.onConnection === undefined,
    };
    const addrs = options.webServerAddrs ?? parseWebServerAddrs(process.env['FCGI_WEB_SERVER_ADDRS']);
    this.#allowed = addrs ? new Set(addrs.map(normaliseIp)) : null;
    this.router = options.router ?? null;
    // pauseOnConnect: a socket may be handed to another process (router), so nothing is read
    // from it here until this server decides to serve it.
    this.server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#serverOnConnection(socket));
    this.server.maxConnections = this.#ctx.maxConns;
    // net closes a connection past maxConnections at once, and says so only through 'drop'.
    this.server.on('drop', () => this.#serverOnDrop());
  }

  /** inFlight: requests in flight across all connections. */
  get inFlight(): number {
    return this.#ctx.inFlight.count;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** requestsStarted: requests handed to the app since this server was created. */
  get requestsStarted(): number {
    return this.#requestsStarted;
  }

  /** draining: drain() or close() has begun. */
  get draining(): boolean {
    return this.#draining;
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
        this.#unixPath = target.path;
        removeStaleSocket(target.path).then(() => this.server.listen(target.path, () => {
          if (this.#options.socketMode !== undefined) chmodSync(target.path, this.#options.socketMode);
          const owner = this.#options.socketOwner;
          if (owner) chownSync(target.path, owner.uid ?? -1, owner.gid ?? -1);
          done();
        }), reject);
      } else {
        this.server.listen(target.port, target.host || undefined, done);
      }
    });
  }

  /** address: what this server listens on, formatted as an Address string. */
  addressString(): string {
    return listeningAddress(this.server);
  }

  /** #serverOnDrop: a connection past FCGI_MAX_CONNS, closed by net as it was accepted. */
  #serverOnDrop(): void {
    if (this.#ctx.observer?.enabled()) {
      this.#ctx.observer.error?.(null, new ConnectionError('FCGI_ERR_TOO_MANY_CONNS',
        `a connection past FCGI_MAX_CONNS (${this.#ctx.maxConns}) was closed`), 'accept');
    }
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
    if (this.router?.(socket)) return;
    this.adopt(socket);
  }

  /**
   * adopt: serve a connected socket, one this server accepted or one accepted by another process
   * and handed over (the process that owns the listening socket, see launch/supervisor).
   */
  adopt(socket: Socket): Connection {
    const conn = new Connection(socket, this.#ctx);
    this.#connections.add(conn);
    const observer = this.#ctx.observer;
    if (observer?.enabled()) observer.open?.(conn);
    conn.whenClosed(() => {
      this.#connections.delete(conn);
      if (observer?.enabled()) observer.close?.(conn);
      this.#drainCheck?.();
    });
    conn.lastActive = Date.now();
    conn.idleBytes = conn.bytesReceived;
    this.#watchResponses(conn);
    this.#options.onConnection?.(conn);
    socket.resume(); // accepted paused (pauseOnConnect); a handed-over socket is already flowing
    return conn;
  }

  /**
   * #watchResponses: learn when a response has left (END_REQUEST written) and whether any byte
   * arrived meanwhile: only a connection with nothing unread may change hands.
   */
  #watchResponses(conn: Connection): void {
    const endRequest = conn.endRequest.bind(conn);
    conn.endRequest = (request, appStatus, protocolStatus, cb) => {
      const before = conn.bytesReceived;
      if (!this.#draining) {
        // No callback while serving normally: it would hold END_REQUEST's write open for a
        // closure per request (the bench/ nginx suite's hello). The count is the same either way.
        endRequest(request, appStatus, protocolStatus, cb);
        if (conn.requestCount === 0) conn.idleBytes = before;
        return;
      }
      endRequest(request, appStatus, protocolStatus, (err) => {
        cb?.(err);
        if (conn.requestCount > 0) return;
        conn.idleBytes = before;
        if (this.#draining && !err) this.#sweepOne(conn, Date.now());
      });
    };
  }

  #serverOnRequest(request: FcgiRequest, conn: Connection): void {
    this.#requestsStarted++;
    conn.lastActive = coarseNow(); // a drain's 1 s idle test does not need the clock per request
    // During a drain a request is still served; then its connection is handed back or closed.
    if (this.#draining && !this.handBack) conn.closeWhenIdle();
    this.#options.onRequest(request, conn);
  }

  /** #sweep: while draining, every connection: see #sweepOne. */
  #sweep(): void {
    const now = Date.now();
    for (const conn of this.#connections) this.#sweepOne(conn, now);
  }

  /**
   * #sweepOne: a busy connection is left to finish (and closes after its response without
   * handBack); an idle one with nothing unread is handed back, or closed after IDLE_CLOSE_MS.
   */
  #sweepOne(conn: Connection, now: number): void {
    if (conn.socket.destroyed || this.#handingBack.has(conn)) return;
    if (conn.requestCount > 0) {
      if (!this.handBack) conn.closeWhenIdle();
      return;
    }
    if (this.handBack) {
      if (conn.bytesReceived === conn.idleBytes) this.#handOver(conn, this.handBack);
      return;
    }
    if (now - conn.lastActive >= IDLE_CLOSE_MS) conn.closeWhenIdle();
  }

  #handOver(conn: Connection, handBack: HandBack): void {
    this.#handingBack.add(conn);
    const socket = conn.socket;
    stopReading(socket);
    // Once sent, the socket has no handle here: destroying it only runs the close bookkeeping.
    handBack(socket, () => socket.destroy());
  }

  /**
   * close: graceful shutdown. Stops accepting, then drain(): resolves when every in-flight request
   * has ended or `drainMs` has passed (then the rest are destroyed).
   */
  close(drainMs = 30_000): Promise<void> {
    if (this.server.listening) this.server.close();
    return this.drain(drainMs);
  }

  /**
   * drain: finish what this server is serving while the listening socket stays open (its new
   * connections go elsewhere through `router`): see IDLE_CLOSE_MS for when each connection closes.
   * Resolves when none is left, or after `drainMs` (the rest are destroyed).
   */
  drain(drainMs = 30_000): Promise<void> {
    this.#draining = true;
    if (!this.#sweeper) {
      this.#sweeper = setInterval(() => this.#sweep(), 100);
      this.#sweeper.unref();
    }
    this.#sweep();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const err = new ConnectionError('FCGI_ERR_DRAIN_TIMEOUT', `cut off: still in flight when the ${drainMs / 1000} s drain ran out`);
        for (const conn of this.#connections) conn.cutOff(err);
      }, drainMs);
      timer.unref();
      const previous = this.#drainCheck;
      const check = (): void => {
        previous?.();
        if (this.#connections.size === 0) {
          clearTimeout(timer);
          if (this.#sweeper) clearInterval(this.#sweeper);
          this.#sweeper = null;
          resolve();
        }
      };
      this.#drainCheck = check;
      check();
    });
  }

  /** unixPath: the socket file this server created, if any. */
  get unixPath(): string | null {
    return this.#unixPath;
  }
}

