import { type WriteStream, accessSync, constants as fsConstants, createWriteStream, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CaptureError } from './errors';

/**
 * A capture file is NDJSON, one connection per file, readable with jq: a header line, then one line
 * per chunk of bytes as it crossed the socket (base64), then an end line. Chunks rather than records:
 * bytes that are not FastCGI, or stop mid-record, are kept too — that is often the bug.
 */
export const CAPTURE_FORMAT = 'dualcgi-capture';
export const CAPTURE_SUFFIX = '.fcgicap';

/** CaptureMeta: what the file says about its connection (mode, peer, upstream, connection number...). */
export type CaptureMeta = Record<string, string | number | boolean | undefined>;

/** CaptureOptions: the bounds of a capture folder. */
export interface CaptureOptions {
  /** maxFileBytes: file size per connection; past it chunks are counted, not kept. Default 16 MiB. */
  maxFileBytes?: number;
  /** maxFiles: capture files kept in the folder; the oldest go first. Default 500. */
  maxFiles?: number;
}

/** CaptureHeader: the first line of a capture file. */
export interface CaptureHeader {
  capture: typeof CAPTURE_FORMAT;
  version: 1;
  id: string;
  /** start: wall-clock ms of the first line; each chunk's `t` is ms after it. */
  start: number;
  pid: number;
  meta: CaptureMeta;
}

let sequence = 0;

/** prepareCaptureDir: create the folder (0700: captures hold cookies and bodies) and check it is writable. */
export function prepareCaptureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, fsConstants.W_OK);
  } catch (err) {
    throw new CaptureError('CAPTURE_ERR_DIR', `cannot write captures to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

/**
 * CaptureFile: one connection's bytes, both directions, in order. Writes are queued on a file
 * stream (the serving path never waits for the disk); once the file passes maxFileBytes the rest is
 * counted only, and the end line says how much was left out.
 */
export class CaptureFile {
  readonly id: string;
  readonly path: string;
  #stream: WriteStream;
  #origin = performance.now();
  #written = 0;
  #maxBytes: number;
  #truncated = false;
  #closed = false;
  #bytes = { in: 0, out: 0 };
  #kept = { in: 0, out: 0 };

  constructor(dir: string, meta: CaptureMeta, options: CaptureOptions = {}) {
    const start = Date.now();
    this.id = `${new Date(start).toISOString().replace(/[-:.]/g, '')}-${process.pid}-${++sequence}`;
    this.path = join(dir, `${this.id}${CAPTURE_SUFFIX}`);
    this.#maxBytes = options.maxFileBytes ?? 16 * 1024 * 1024;
    pruneCaptures(dir, (options.maxFiles ?? 500) - 1);
    this.#stream = createWriteStream(this.path, { flags: 'wx', mode: 0o600 });
    this.#stream.on('error', () => { this.#closed = true; }); // a full disk ends the capture, never the server
    const header: CaptureHeader = { capture: CAPTURE_FORMAT, version: 1, id: this.id, start, pid: process.pid, meta };
    this.#line(header);
  }

  /** record: one chunk as it crossed the socket: 'in' = received, 'out' = sent (by the side capturing). */
  record(dir: 'in' | 'out', chunk: Buffer): void {
    if (this.#closed || chunk.length === 0) return;
    this.#bytes[dir] += chunk.length;
    if (this.#truncated) return;
    const line = `{"t":${this.#now()},"dir":"${dir}","data":"${chunk.toString('base64')}"}\n`;
    if (this.#written + line.length > this.#maxBytes) {
      this.#truncated = true;
      this.#line({ t: this.#now(), truncated: true, reason: `file reached maxFileBytes (${this.#maxBytes})` });
      return;
    }
    this.#kept[dir] += chunk.length;
    this.#write(line);
  }

  /** close: the end line (totals, bytes left out, why) and close the file. */
  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#line({ t: this.#now(), end: true, reason, bytesIn: this.#bytes.in, bytesOut: this.#bytes.out,
      keptIn: this.#kept.in, keptOut: this.#kept.out });
    this.#closed = true;
    this.#stream.end();
  }

  /** flushed: resolves once the file is complete on disk. */
  flushed(): Promise<void> {
    if (this.#stream.closed) return Promise.resolve();
    return new Promise((resolve) => this.#stream.once('close', () => resolve()));
  }

  #now(): number {
    return Math.round((performance.now() - this.#origin) * 1000) / 1000;
  }

  #line(value: object): void {
    this.#write(`${JSON.stringify(value)}\n`);
  }

  #write(line: string): void {
    this.#written += line.length;
    this.#stream.write(line);
  }
}

/** pruneCaptures: keep at most `keep` capture files in `dir`, removing the oldest (names sort by time). */
export function pruneCaptures(dir: string, keep: number): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(CAPTURE_SUFFIX)).sort();
  } catch {
    return;
  }
  for (const name of names.slice(0, Math.max(0, names.length - Math.max(0, keep)))) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // another process pruned it first
    }
  }
}

/**
 * attachCapture: record both directions of any net.Socket into a new capture file in `dir`: what
 * arrives ('in', recorded before other 'data' listeners run) and everything written through
 * socket.write/end ('out'). The file is closed with the socket. Returns null, and leaves the socket
 * alone, when the file cannot be created: capturing must never break serving.
 */
export function attachCapture(socket: Socket, dir: string, meta: CaptureMeta = {}, options: CaptureOptions = {}): CaptureFile | null {
  let capture: CaptureFile;
  try {
    capture = new CaptureFile(dir, { peer: peerOf(socket), ...meta }, options);
  } catch {
    return null;
  }
  socket.prependListener('data', (chunk: Buffer) => capture.record('in', chunk));
  const write = socket.write;
  const captured = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === 'string') {
      capture.record('out', Buffer.from(chunk, typeof rest[0] === 'string' ? rest[0] as BufferEncoding : 'utf8'));
    } else if (chunk instanceof Uint8Array) {
      capture.record('out', Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    return (write as (...args: unknown[]) => boolean).apply(this, [chunk, ...rest]);
  };
  socket.write = captured as Socket['write'];
  socket.once('close', (hadError) => capture.close(hadError ? 'closed after a socket error' : 'closed'));
  return capture;
}

function peerOf(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
}
