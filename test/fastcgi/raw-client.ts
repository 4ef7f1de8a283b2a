import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { FastCGIServer, type FastCGIServerOptions } from '../../src/fastcgi/server';
import { type FastCGIRecord, RecordDecoder } from '../../src/protocol';
import { tempDir } from '../temp-root';

/** RawPeer: a socket speaking raw records, for byte-exact policy tests. */
export class RawPeer {
  readonly socket: Socket;
  readonly records: FastCGIRecord[] = [];
  closed = false;
  #waiters: Array<() => void> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new RecordDecoder((r) => {
      this.records.push({ ...r, content: Buffer.from(r.content) });
      this.#wake();
    });
    socket.on('data', (c: Buffer) => decoder.push(c));
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  /** until: resolves when `pred` holds (checked after each record or close), rejects after ms. */
  until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      const check = (): void => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.#waiters.push(check);
        }
      };
      check();
    });
  }

  ofType(type: number, requestId?: number): FastCGIRecord[] {
    return this.records.filter((r) => r.type === type && (requestId === undefined || r.requestId === requestId));
  }

  stdout(requestId: number): Buffer {
    return Buffer.concat(this.ofType(6, requestId).map((r) => r.content));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** startServer: a FastCGIServer on a fresh Unix socket. */
export async function startServer(options: FastCGIServerOptions): Promise<{ server: FastCGIServer; path: string }> {
  const dir = tempDir('server-');
  const path = join(dir, 'fcgi.sock');
  const server = new FastCGIServer(options);
  await server.listen({ kind: 'unix', path });
  return { server, path };
}
