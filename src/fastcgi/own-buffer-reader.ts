import type { Socket } from 'node:net';

/**
 * Reading a connection into a buffer of its own, instead of net.Socket's stream of fresh chunks.
 *
 * Why (bench/ nginx suite, hello-c32): each read of a net.Socket mallocs a 64 KiB backing store,
 * shrinks it to the bytes read, wraps it in an ArrayBuffer and a Buffer, and passes it through
 * Readable's push/emit machinery to the 'data' listener. node:http never pays this: its parser
 * reads from the socket's handle in C++. net.Socket's own `onread` option (documented for
 * net.connect and new net.Socket, not offered by net.Server) reads into a caller's buffer and
 * calls a function instead; this installs the same thing on a server's accepted socket.
 *
 * The buffer is reused by the next read, so the caller says after each read whether it may still
 * hold views of the bytes (a request body handed to the app, a PARAMS stream not yet complete);
 * the next read then goes to the rest of the slab, or to a new one.
 *
 * What it buys: 0.8-0.9 us of the serving process's CPU per hello request (32 kept connections
 * sending nginx's hello request, dualcgi serve, interleaved runs: 15.1/15.7/14.5 -> 14.3/14.7/13.6
 * us); bench/ nginx suite, hello-c32, with the changes after it: backend 21.1 -> 17.3 us per request.
 */

/** READ_SLAB_SIZE: the buffer reads go into (64 KiB, libuv's suggested read size for streams). */
const READ_SLAB_SIZE = 64 * 1024;
/**
 * READ_SLAB_LARGE: the next slab's size when a kept read filled all the room it was given (a
 * request body arriving faster than 64 KiB a read: nginx queues up to its socket's send buffer,
 * ~208 KiB on Linux, before it waits).
 * A slab goes back to 64 KiB once a kept read neither fills its room nor exceeds 64 KiB.
 * What it buys (bench/ nginx suite, 1 MiB POST, backend --baseline A/B in one nginx): reads per
 * POST 20.6 -> 8.9, page faults per POST 4.5 -> 1.3 (perf stat of the serving process), backend
 * CPU per POST 327 -> 312 us. Bodies that trickle in, and hello requests, stay on 64 KiB slabs.
 */
const READ_SLAB_LARGE = 256 * 1024;
/** A slab with less room left than a quarter of its size after kept bytes is replaced (16 KiB of 64 KiB). */
const READ_MIN_SHIFT = 2;

/** The handle method net.Socket calls for its `onread` option (stream_base, every Node since 12). */
interface UserBufferHandle {
  useUserBuffer?(buffer: Uint8Array): void;
  reading?: boolean;
}

interface OnreadSymbols {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** onreadSymbols: net.Socket's private slots for the `onread` option, found by description (null if renamed). */
let onreadSymbols: OnreadSymbols | null | undefined;

function findSymbols(socket: Socket): OnreadSymbols | null {
  if (onreadSymbols !== undefined) return onreadSymbols;
  const own = Object.getOwnPropertySymbols(socket);
  const find = (description: string): symbol | undefined => own.find((s) => s.description === description);
  const buffer = find('kBuffer');
  const callback = find('kBufferCb');
  const generator = find('kBufferGen');
  onreadSymbols = buffer && callback && generator ? { buffer, callback, generator } : null;
  return onreadSymbols;
}

/**
 * OwnBufferReader: reads one socket into its own slab. `onBytes` gets each read's bytes as a
 * buffer and where they end in it (no view made per read: ~50 ns each); `keeps` is asked after
 * each read whether views of them may outlive the call.
 */
export class OwnBufferReader {
  #slab: Buffer;
  /** #at: where in #slab the current read region starts; #lastRead: bytes the last read put there. */
  #at = 0;
  #lastRead = 0;
  readonly #onBytes: (buffer: Buffer, end: number) => void;
  readonly #keeps: () => boolean;

  private constructor(onBytes: (buffer: Buffer, end: number) => void, keeps: () => boolean) {
    this.#onBytes = onBytes;
    this.#keeps = keeps;
    this.#slab = Buffer.allocUnsafeSlow(READ_SLAB_SIZE);
  }

  /**
   * install: read `socket` through an OwnBufferReader, or return null (then use 'data'). Only a
   * socket that has read nothing into its stream yet and is not reading (accepted with
   * pauseOnConnect) is switched; reading starts with the socket's next resume().
   */
  static install(socket: Socket, onBytes: (buffer: Buffer, end: number) => void, keeps: () => boolean): OwnBufferReader | null {
    // A Duplex that is not a net.Socket (adopt() takes any) has no _handle at all.
    const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
    if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function' || handle.reading === true) return null;
    if (socket.readableLength !== 0 || socket.readableFlowing === true || socket.destroyed) return null;
    const symbols = findSymbols(socket);
    if (symbols === null) return null;
    const slots = socket as unknown as Record<symbol, unknown>;
    if (slots[symbols.buffer] !== null || slots[symbols.callback] !== null) return null;
    const reader = new OwnBufferReader(onBytes, keeps);
    handle.useUserBuffer(reader.#slab);
    slots[symbols.buffer] = reader.#slab;
    slots[symbols.callback] = reader.#onRead;
    slots[symbols.generator] = reader.#nextBuffer;
    return reader;
  }

  /** #onRead: net's onStreamRead calls this with the bytes read into the current region. */
  readonly #onRead = (nread: number, region: Buffer): void => {
    this.#lastRead = nread;
    this.#onBytes(region, nread);
  };

  /**
   * #nextBuffer: called by net right after #onRead: undefined keeps the region for the next read;
   * a buffer replaces it (the bytes just read are kept by someone: they must not be overwritten).
   */
  readonly #nextBuffer = (): Buffer | undefined => {
    if (!this.#keeps()) return undefined;
    // The region the read was given is always the slab from #at on.
    const room = this.#slab.length - this.#at;
    this.#at += (this.#lastRead + 7) & ~7;
    if (this.#slab.length - this.#at < this.#slab.length >> READ_MIN_SHIFT) {
      // A read that filled its room (bytes were left in the socket), or took more than a small
      // slab holds: the input comes in bulk, and the next slab takes more per read.
      const bulk = this.#lastRead === room || this.#lastRead > READ_SLAB_SIZE;
      const size = bulk ? READ_SLAB_LARGE : READ_SLAB_SIZE;
      this.#slab = Buffer.allocUnsafeSlow(size);
      this.#at = 0;
    }
    return this.#slab.subarray(this.#at);
  };
}
