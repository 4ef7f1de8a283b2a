import { Buffer } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import { nextTick } from 'node:process';
import { Writable } from 'node:stream';
import type { RequestHead } from '../cgi/request-head';
import type { Exchange } from './exchange';

type WriteCallback = (err?: Error | null) => void;

// Buffer and nextTick from their modules: the globals `Buffer` and `process` are getters
// (Node's bootstrap), together 1.1% of micro.js fcgi read per request (the "get" frames).

/**
 * deferCallback: write callbacks completed synchronously run on the next tick, all of this tick's
 * in one process.nextTick, as Writable batches them (afterWriteTick): a response's head and end
 * callbacks cost one tick instead of two.
 */
let deferred: Array<WriteCallback | Error | null | undefined> = [];
let deferredCount = 0;
/**
 * spare: the list runDeferred ran last, kept for the next batch: no new arrays per batch, and no
 * `length = 0` either (a runtime call, 0.7% of micro.js fcgi): slots are counted and cleared.
 */
let spare: Array<WriteCallback | Error | null | undefined> = [];
function deferCallback(cb: WriteCallback, err: Error | null): void {
  deferred[deferredCount++] = cb;
  deferred[deferredCount++] = err;
  if (deferredCount === 2) nextTick(runDeferred);
}
function runDeferred(): void {
  const list = deferred;
  const count = deferredCount;
  deferred = spare; // callbacks deferred by these go to the next tick, as before
  deferredCount = 0;
  let i = 0;
  try {
    for (; i < count; i += 2) {
      const cb = list[i] as WriteCallback;
      const err = list[i + 1] as Error | null;
      list[i] = list[i + 1] = undefined; // nothing kept alive by the spare list
      cb(err);
    }
  } finally {
    for (; i < count; i++) list[i] = undefined; // a callback threw: the rest are dropped, as before
    spare = list;
  }
}

/**
 * listenerTotal: how many event names have listeners. EventEmitter keeps this count itself
 * (_eventsCount, there since Node 0.x); eventNames() builds an array each time and was 2% of a
 * hello request. Falls back to eventNames() should the field ever go.
 */
function listenerTotal(emitter: Writable): number {
  const count = (emitter as unknown as { _eventsCount?: unknown })._eventsCount;
  return typeof count === 'number' ? count : emitter.eventNames().length;
}

/**
 * ExchangeSocket: what `req.socket` / `res.socket` are for a Node app. node:http's ServerResponse
 * writes its (already CGI-shaped) head and body here; every byte goes to the exchange, with the
 * exchange's backpressure. Addresses come from the CGI params, so `req.ip` and `req.protocol` work.
 *
 * Like node:http's socket on a kept-alive connection, one ExchangeSocket serves many requests in
 * turn (`attach` / `detach`, pooled by handlers/node.ts): constructing and destroying a Writable per
 * request was a fifth of a hello request's CPU behind nginx (bench/ nginx suite, hello-c32).
 * It stays a Writable (not a bare EventEmitter) because node:http and frameworks use it as a stream:
 * `stream.finished(socket)` on an aborted request, `_writableState.corked` in res.end(), destroy().
 */
export class ExchangeSocket extends Writable {
  remoteAddress = '';
  remotePort = 0;
  localAddress = '';
  localPort = 0;
  remoteFamily = 'IPv4';
  /** encrypted: read by Express's req.protocol; true only for HTTPS, like tls.TLSSocket. */
  encrypted: boolean | undefined = undefined;
  /** _httpMessage: the response using this socket (set by serveNode, as ServerResponse.assignSocket would). */
  _httpMessage: unknown = null;
  #exchange: Exchange | null = null;
  #pendingWrites = 0;
  #pendingBytes = 0;
  #needDrain = false;
  /** #waiting: size and callback of each write the exchange holds (backpressure), in order. */
  #waiting: Array<number | WriteCallback | undefined> = [];
  /** #inWrite/#doneNow/#doneError: the exchange's callback came during write() (no backpressure). */
  #inWrite = false;
  #doneNow = false;
  #doneError: Error | null = null;

  constructor() {
    // A Writable, not a Duplex: the body reaches IncomingMessage directly, so a ReadableState per
    // socket would be garbage only.
    super();
  }

  /** attach: serve `exchange` next; its addresses become this socket's. */
  attach(exchange: Exchange, head: RequestHead): void {
    this.#exchange = exchange;
    this.remoteAddress = head.remoteAddress;
    this.remotePort = head.remotePort;
    this.localAddress = head.localAddress;
    this.localPort = head.localPort;
    this.remoteFamily = head.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
    this.encrypted = head.https ? true : undefined;
  }

  /**
   * reusable: nothing in flight, not destroyed, and no listener but the `baseline` ones we add:
   * an app that still listens on this socket (a long poll watching 'close') keeps it to itself.
   */
  reusable(baseline: number): boolean {
    return !this.destroyed && this.#pendingWrites === 0 && this._httpMessage === null && listenerTotal(this) === baseline;
  }

  /** detach: the exchange is done; later writes (an app holding on to req.socket) go nowhere. */
  detach(): void {
    this.#exchange = null;
    if (this.#timer !== null) this.#clearTimer();
  }

  /** readable: what IncomingMessage and frameworks check on req.socket; bodies do not flow here. */
  get readable(): boolean {
    return !this.destroyed;
  }

  /** resume/pause: node:http calls these on req.socket to drive the body; ours is driven by the exchange. */
  resume(): this { return this; }
  pause(): this { return this; }

  /** pendingBytes: written but not yet taken by the exchange (backpressure); `writableLength`. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** needsDrain: a write returned false and 'drain' has not been emitted yet; `writableNeedDrain`. */
  get needsDrain(): boolean {
    return this.#needDrain;
  }

  /**
   * write: straight to the exchange, bypassing Writable's queue (node:http's own socket writes go
   * straight to libuv the same way). Callbacks run on the next tick, as Writable's do: node:http's
   * end() passes `finish` and expects it after end() returns. Returns false under backpressure and
   * emits 'drain' once the exchange can take more.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const exchange = this.#exchange;
    if (exchange === null || this.destroyed) {
      if (cb) nextTick(cb, new Error('write to a socket whose request has ended'));
      return false;
    }
    // A string goes to the exchange as text when it can encode it in place (node:http's head is a
    // latin1 string: a Buffer and a copy per response were 4% of a hello request); else as bytes.
    let text: string | undefined;
    let textEncoding: 'latin1' | 'utf8' = 'utf8';
    let buf: Buffer | undefined;
    let size: number;
    if (typeof chunk === 'string') {
      // node:http's own writes say 'latin1' (the head, the empty end): no toLowerCase for them.
      const enc = encoding === 'latin1' ? encoding : (encoding ?? 'utf8').toLowerCase();
      textEncoding = enc === 'latin1' || enc === 'binary' ? 'latin1' : 'utf8';
      if (exchange.writeText !== undefined && (textEncoding === 'latin1' || enc === 'utf8' || enc === 'utf-8')) {
        text = chunk;
        size = textEncoding === 'latin1' ? chunk.length : Buffer.byteLength(chunk, 'utf8');
      } else {
        buf = Buffer.from(chunk, encoding ?? 'utf8');
        size = buf.length;
      }
    } else {
      const bytes = chunk as Uint8Array;
      buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      size = buf.length;
    }
    // node:http ends a response with an empty write; an empty STDOUT record would end the stream.
    if (size === 0) {
      if (cb) deferCallback(cb, null);
      return true;
    }
    // One callback per socket, not a closure per write (two per hello response, with the
    // counters they carried: ~0.3 us of micro.js fcgi). An exchange calls back at once when it
    // took the bytes without backpressure; only a write it holds is queued (#waiting, in order:
    // transports call back in write order).
    if (this.#timer !== null) this.#timer.refresh(); // activity, as a net.Socket's timeout counts it
    this.#inWrite = true;
    this.#doneNow = false;
    if (text !== undefined) exchange.writeText!(text, textEncoding, this.#onExchangeWrite);
    else exchange.write(buf!, this.#onExchangeWrite);
    this.#inWrite = false;
    if (this.#doneNow) {
      if (cb) deferCallback(cb, this.#doneError);
      this.#doneError = null;
      return true;
    }
    this.#pendingWrites++;
    this.#pendingBytes += size;
    this.#waiting.push(size, cb);
    this.#needDrain = true;
    return false;
  }

  /** #onExchangeWrite: the exchange took a write (at once, or later for one in #waiting). */
  readonly #onExchangeWrite = (err?: Error | null): void => {
    if (this.#inWrite) {
      this.#doneNow = true;
      this.#doneError = err ?? null;
      return;
    }
    const waiting = this.#waiting;
    const size = waiting.shift() as number;
    const cb = waiting.shift() as WriteCallback | undefined;
    this.#pendingWrites--;
    this.#pendingBytes -= size;
    cb?.(err ?? null);
    if (this.#needDrain && this.#pendingWrites === 0) {
      this.#needDrain = false;
      this.emit('drain');
    }
  };

  /** _write: only reached through Writable.end(chunk) (write() bypasses the queue). */
  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: WriteCallback): void {
    this.write(chunk, cb);
  }

  /** #timer: the idle timeout the app asked for (req.setTimeout, res.setTimeout, socket.setTimeout), or null. */
  #timer: NodeJS.Timeout | null = null;

  /**
   * setTimeout: net.Socket's idle timeout, counted on the response's writes. A no-op before: an
   * app that called res.setTimeout(ms, cb) to answer a slow request itself never heard of it,
   * and the request hung. When it fires, what node:http's socketOnTimeout does (see #timedOut).
   * Kept referenced: in a CGI hit it may be the one thing the app is waiting for.
   */
  setTimeout(ms: number, cb?: () => void): this {
    if (this.#timer !== null) this.#clearTimer();
    if (ms === 0) {
      if (cb) this.removeListener('timeout', cb);
      return this;
    }
    if (cb) this.once('timeout', cb);
    if (this.#exchange !== null && !this.destroyed) this.#timer = setTimeout(this.#timedOut, ms);
    return this;
  }

  /** touch: activity on the request (a body chunk arrived): the idle timeout starts again. */
  touch(): void {
    if (this.#timer !== null) this.#timer.refresh();
  }

  #clearTimer(): void {
    clearTimeout(this.#timer!);
    this.#timer = null;
  }

  /**
   * #timedOut: as node:http's socketOnTimeout: the socket's own listeners hear it, then the request
   * (unless its body is complete) and the response; if neither of those two listened, the
   * connection is dropped: here the socket is destroyed and the request ends failed (node.ts).
   */
  readonly #timedOut = (): void => {
    this.#timer = null;
    if (this.#exchange === null || this.destroyed) return;
    this.emit('timeout');
    const res = this._httpMessage as (EventEmitter & { req?: EventEmitter & { complete?: boolean } }) | null;
    const req = res?.req;
    const reqHeard = req !== undefined && req.complete !== true && req.emit('timeout', this);
    const resHeard = res !== null && res.emit('timeout', this);
    if (!reqHeard && !resHeard) this.destroy();
  };

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.#timer !== null) this.#clearTimer();
    cb(err);
  }

  // The net.Socket methods frameworks call; the web server owns the real connection.
  setNoDelay(_noDelay?: boolean): this { return this; }
  setKeepAlive(_enable?: boolean, _delay?: number): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }
}

// Writable declares these as data properties in its typings; its getters read a queue this socket
// does not use, so they are redirected to the socket's own counts (res.writableFinished reads one).
Object.defineProperty(ExchangeSocket.prototype, 'writableLength', {
  get(this: ExchangeSocket) { return this.pendingBytes; },
});
Object.defineProperty(ExchangeSocket.prototype, 'writableNeedDrain', {
  get(this: ExchangeSocket) { return this.needsDrain; },
});
