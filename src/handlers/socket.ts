import { Writable } from 'node:stream';
import type { RequestHead } from '../cgi/request-head';
import type { Exchange } from './exchange';

/**
 * ExchangeSocket: what `req.socket` / `res.socket` are for a Node app. node:http's ServerResponse
 * writes its (already CGI-shaped) head and body here; every byte goes to the exchange, with the
 * exchange's backpressure. Addresses come from the CGI params, so `req.ip` and `req.protocol` work.
 */
export class ExchangeSocket extends Writable {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteFamily: string;
  /** encrypted: read by Express's req.protocol; set only for HTTPS like tls.TLSSocket. */
  declare encrypted?: boolean;
  #exchange: Exchange;

  constructor(exchange: Exchange, head: RequestHead) {
    // A Writable, not a Duplex: the body reaches IncomingMessage directly, so a ReadableState per
    // request would be garbage only (GC was 14% of a hello request's CPU behind nginx).
    super();
    this.#exchange = exchange;
    this.remoteAddress = head.remoteAddress;
    this.remotePort = head.remotePort;
    this.localAddress = head.localAddress;
    this.localPort = head.localPort;
    this.remoteFamily = head.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
    if (head.https) this.encrypted = true;
  }

  /** readable: what IncomingMessage and frameworks check on req.socket; bodies do not flow here. */
  get readable(): boolean {
    return !this.destroyed;
  }

  /** resume/pause: node:http calls these on req.socket to drive the body; ours is driven by the exchange. */
  resume(): this { return this; }
  pause(): this { return this; }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    // node:http ends a response with an empty write; an empty STDOUT record would end the stream.
    if (chunk.length === 0) {
      cb();
      return;
    }
    this.#exchange.write(chunk, cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    if (total === 0) {
      cb();
      return;
    }
    // Head and first body chunk usually arrive together: one record instead of several.
    this.#exchange.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk), total), cb);
  }

  // The net.Socket methods frameworks call; the web server owns the real connection.
  setTimeout(_ms: number, _cb?: () => void): this { return this; }
  setNoDelay(_noDelay?: boolean): this { return this; }
  setKeepAlive(_enable?: boolean, _delay?: number): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }
}
