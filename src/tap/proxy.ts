import { chmodSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { CaptureFile, type CaptureOptions } from '../capture/writer';
import { type Address, formatAddress, listeningAddress } from '../net/address';
import { removeStaleSocket } from '../net/socket-file';
import { isTracing } from '../trace/channel';
import { RecordBoundary } from './record-boundary';
import { TapTrace } from './trace';

/** TapOptions: where to listen, where to forward, what to record. */
export interface TapOptions {
  listen: Address;
  upstream: Address;
  /** captureDir: also write each connection's bytes to a capture file there (see src/capture). */
  captureDir?: string;
  capture?: CaptureOptions;
  /** socketMode: permissions of a Unix socket the tap creates (nginx workers run as www-data). */
  socketMode?: number;
  /** connectTimeoutMs: how long the upstream may take to accept. Default 5000. */
  connectTimeoutMs?: number;
}

let nextConnection = 1;

/**
 * TapServer: a transparent FastCGI proxy. Each web-server connection gets its own upstream
 * connection; bytes are forwarded unchanged, in order, with backpressure, half-closes passed on. The
 * bytes are also decoded into trace events (when someone listens at connection start) and captured
 * (with captureDir). When the upstream cannot be reached or fails, the web server's connection is
 * closed — what it would see from a dead backend — and the trace says why.
 */
export class TapServer {
  readonly server: Server;
  #options: TapOptions;
  #sockets = new Set<Socket>();

  constructor(options: TapOptions) {
    this.#options = options;
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#serverOnConnection(socket));
  }

  /** connectionCount: web-server connections open now. */
  get connectionCount(): number {
    let n = 0;
    for (const s of this.#sockets) if (!s.destroyed) n++;
    return n;
  }

  /** listen: resolves once listening; a stale socket file is replaced. */
  listen(): Promise<void> {
    const target = this.#options.listen;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = (): void => {
        this.server.off('error', reject);
        if (target.kind === 'unix' && this.#options.socketMode !== undefined) chmodSync(target.path, this.#options.socketMode);
        resolve();
      };
      if (target.kind === 'unix') {
        removeStaleSocket(target.path).then(() => this.server.listen(target.path, done), reject);
      } else {
        this.server.listen(target.port, target.host || undefined, done);
      }
    });
  }

  /** addressString: where the tap listens (the port is the real one after listening on :0). */
  addressString(): string {
    return listeningAddress(this.server);
  }

  /** close: stop accepting and drop every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
  }

  #serverOnConnection(client: Socket): void {
    const id = nextConnection++;
    const peer = client.remoteAddress ? `${client.remoteAddress}:${client.remotePort}` : 'unix';
    const upstreamName = formatAddress(this.#options.upstream);
    this.#sockets.add(client);
    client.once('close', () => this.#sockets.delete(client));
    const capture = this.#openCapture(id, peer, upstreamName);
    client.pause(); // nothing is read until the upstream is there to take it
    const upstream = this.#connectUpstream();
    new TapConnection({ id, peer, upstreamName }, client, upstream, capture, this.#options.connectTimeoutMs ?? 5000);
  }

  #openCapture(id: number, peer: string, upstream: string): CaptureFile | null {
    if (this.#options.captureDir === undefined) return null;
    try {
      return new CaptureFile(this.#options.captureDir, {
        mode: 'tap', conn: id, peer, listen: formatAddress(this.#options.listen), upstream,
      }, this.#options.capture);
    } catch {
      return null; // a full or vanished capture folder must not stop the traffic
    }
  }

  #connectUpstream(): Socket {
    const up = this.#options.upstream;
    return up.kind === 'unix'
      ? connect({ path: up.path, allowHalfOpen: true })
      : connect({ host: up.host || '127.0.0.1', port: up.port, allowHalfOpen: true, noDelay: true });
  }
}

/** ConnectionName: how the trace names a connection. */
interface ConnectionName {
  id: number;
  peer: string;
  upstreamName: string;
}

/**
 * TapConnection: one web-server connection and its upstream connection. 'in' is what the web server
 * sends, 'out' what the upstream answers (the names trace record events use).
 */
class TapConnection {
  #name: ConnectionName;
  #client: Socket;
  #upstream: Socket;
  #upstreamName: string;
  #trace: TapTrace | null = null;
  /**
   * #from: per direction, where its records begin while they do not reach the trace yet (null once
   * they do). A connection is traced from its start when someone listens then; else from the next
   * record each way once someone does: a web server keeps its connections open for hours, and a
   * decoder started mid-record would read garbage.
   */
  #from: Record<'in' | 'out', RecordBoundary | null>;
  #capture: CaptureFile | null;
  #connected = false;
  /** #why: the first reason the connection ended, reported once both sides are closed. */
  #why: { text: string; upstreamFirst: boolean; failure: boolean } | null = null;
  #closed = 0;

  constructor(name: ConnectionName, client: Socket, upstream: Socket, capture: CaptureFile | null, connectTimeoutMs: number) {
    const { upstreamName } = name;
    this.#name = name;
    this.#client = client;
    this.#upstream = upstream;
    this.#upstreamName = upstreamName;
    if (isTracing()) {
      this.#trace = new TapTrace(name.id, name.peer, upstreamName);
      this.#from = { in: null, out: null };
    } else {
      this.#from = { in: new RecordBoundary(), out: new RecordBoundary() };
    }
    this.#capture = capture;
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`upstream ${upstreamName} did not accept within ${connectTimeoutMs} ms`), { code: 'ETIMEDOUT' });
      upstream.destroy(err);
    }, connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      this.#connected = true;
      this.#forward(client, upstream, 'in');
      this.#forward(upstream, client, 'out');
      client.resume();
    });
    upstream.on('error', (err) => {
      clearTimeout(timer);
      this.#upstreamFailed(err);
    });
    client.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      this.#ended(`web server connection error: ${code ?? err.message}`, false);
      // A reset is passed on as a reset: what the app sees is what the web server did.
      if (code === 'ECONNRESET') reset(upstream);
    });
    client.once('close', () => this.#sideClosed(false));
    upstream.once('close', () => this.#sideClosed(true));
  }

  /** #forward: bytes from one side to the other, unchanged; a half-close is passed on. */
  #forward(from: Socket, to: Socket, dir: 'in' | 'out'): void {
    from.on('data', (chunk: Buffer) => {
      this.#capture?.record(dir, chunk);
      if (to.destroyed || to.writableEnded) {
        this.#dropped(dir, chunk.length);
        return;
      }
      this.#traceBytes(dir, chunk);
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.once('end', () => {
      this.#why ??= dir === 'in' ? { text: 'the web server closed it', upstreamFirst: false, failure: false } : this.#upstreamEnded();
      to.end();
      // A web server may half-close and still read the answer; an app that closes is done (FastCGI
      // has no half-close), so what the web server sends after that cannot reach it.
      if (dir === 'out') from.end();
    });
  }

  /** #traceBytes: a forwarded chunk to the trace, from the first record boundary if tracing starts now. */
  #traceBytes(dir: 'in' | 'out', chunk: Buffer): void {
    const boundary = this.#from[dir];
    if (boundary === null) {
      this.#trace?.bytes(dir, chunk);
      return;
    }
    if (boundary.lost) return;
    const at = boundary.next(chunk);
    if (at === -1 || (this.#trace === null && !isTracing())) return;
    this.#trace ??= new TapTrace(this.#name.id, this.#name.peer, this.#upstreamName, true);
    this.#from[dir] = null;
    this.#trace.bytes(dir, at === 0 ? chunk : chunk.subarray(at));
  }

  /**
   * #dropped: one side sent bytes after the other had closed (a web server reusing a kept-alive
   * connection whose upstream just went away). They cannot be delivered: both sides are closed, so
   * the web server retries or answers 502 instead of waiting, and the trace says what happened.
   */
  #dropped(dir: 'in' | 'out', bytes: number): void {
    const text = dir === 'in'
      ? `the web server sent ${bytes} bytes after the upstream ${this.#upstreamName} had closed the connection; closing it`
      : `the upstream sent ${bytes} bytes after the web server had closed the connection; dropped`;
    this.#trace?.error('forward', Object.assign(new Error(text), { code: 'EPIPE' }));
    this.#ended(text, dir === 'in');
    this.#client.destroy();
    this.#upstream.destroy();
  }

  /**
   * #upstreamEnded: why, when the upstream closes. With requests in flight that is the web server's
   * 502 ("upstream prematurely closed"): an app that exited or crashed mid-request.
   */
  #upstreamEnded(): { text: string; upstreamFirst: true; failure: boolean } {
    const inFlight = this.#trace?.inFlight ?? [];
    if (inFlight.length === 0) return { text: 'the upstream closed it', upstreamFirst: true, failure: false };
    return {
      text: `the upstream closed it with request${inFlight.length > 1 ? 's' : ''} ${inFlight.join(', ')} in flight (the web server answers 502)`,
      upstreamFirst: true, failure: true,
    };
  }

  #upstreamFailed(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    const text = this.#connected
      ? `upstream ${this.#upstreamName} failed: ${code ?? err.message}`
      : `cannot reach upstream ${this.#upstreamName}: ${code ?? err.message}${hint(code)}`;
    const inFlight = this.#trace?.inFlight ?? [];
    const detail = this.#connected && inFlight.length > 0 ? ` with request${inFlight.length > 1 ? 's' : ''} ${inFlight.join(', ')} in flight` : '';
    this.#trace?.error('upstream', err, `${text}${detail}; the web server's connection was closed (it answers 502)`);
    this.#ended(text, true);
    // A reset reaches the web server as a reset, so its error log says what it would without the
    // tap ("recv() failed (104: Connection reset by peer)", not "upstream prematurely closed").
    if (code === 'ECONNRESET' && this.#connected) reset(this.#client);
    else this.#client.destroy();
  }

  #ended(text: string, upstreamFirst: boolean): void {
    this.#why ??= { text, upstreamFirst, failure: true };
  }

  /** #sideClosed: once one side is fully closed the other follows; the trace gets the reason once. */
  #sideClosed(upstream: boolean): void {
    this.#closed++;
    const client = this.#client;
    if (!upstream) this.#upstream.destroy();
    else if (!this.#connected) client.destroy();
    else if (!client.destroyed) {
      // What the upstream sent still reaches the web server; a web server that keeps its half open
      // after that is let go a little later.
      client.end();
      const drop = (): void => { setTimeout(() => client.destroy(), 5000).unref(); };
      if (client.writableFinished) drop();
      else client.once('finish', drop);
    }
    if (this.#closed < 2) return;
    const why = this.#why ?? { text: 'closed', upstreamFirst: upstream, failure: false };
    this.#trace?.close(why.text, why.upstreamFirst, why.failure);
    this.#capture?.close(why.text);
  }
}

/** reset: close with a TCP RST; a Unix socket has none (resetAndDestroy throws for one): a plain close. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

function hint(code: string | undefined): string {
  if (code === 'ECONNREFUSED') return ' (nothing listens there: is the app running?)';
  if (code === 'ENOENT') return ' (no socket file: is the app running, and is the path right?)';
  if (code === 'EACCES') return ' (permission denied on the socket or a folder above it)';
  return '';
}

