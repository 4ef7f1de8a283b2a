import { chmodSync, chownSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { removeStaleSocket } from '../net/socket-file';
import type { GroupItem } from './group-scan';
import { NdjsonReader, type ReadItem } from './reader';

/** TraceListenerOptions: who may send events. */
export interface TraceListenerOptions {
  /** mode: the socket file's permissions. Default 0o600: only this user's processes may connect. */
  mode?: number;
  /** uid/gid: give the socket to another user or group (e.g. www-data's gid with mode 0o660). */
  uid?: number;
  gid?: number;
}

/** SummaryListenerOptions: a listener that takes grouped request lines as summaries (NdjsonReaderOptions summaries). */
export interface SummaryListenerOptions extends TraceListenerOptions {
  summaries: true;
}

/** TraceListenerError: the socket path is in use by a live listener. code: TRACE_ERR_IN_USE. */
export class TraceListenerError extends Error {
  readonly code = 'TRACE_ERR_IN_USE';
}

/**
 * listenForTraces: the receiving end (dashboard, tail): a Unix socket that many processes connect
 * to, each writing NDJSON. Every item goes to `onItem` with the producer's connection number.
 */
export async function listenForTraces(path: string, onItem: (item: ReadItem, producer: number) => void,
  options?: TraceListenerOptions): Promise<Server>;
export async function listenForTraces(path: string, onItem: (item: ReadItem | GroupItem, producer: number) => void,
  options: SummaryListenerOptions): Promise<Server>;
export async function listenForTraces(path: string, onItem: ((item: ReadItem, producer: number) => void)
  | ((item: ReadItem | GroupItem, producer: number) => void), options: TraceListenerOptions & { summaries?: boolean } = {}): Promise<Server> {
  // Group items come only with summaries, and then onItem takes them (the overloads).
  const hand = onItem as (item: ReadItem | GroupItem, producer: number) => void;
  try {
    await removeStaleSocket(path);
  } catch (err) {
    const inUse = (err as { code?: unknown }).code === 'ADDR_ERR_IN_USE';
    throw new TraceListenerError(inUse ? `${path} is in use by another listener (another dashboard or tail?)` : (err as Error).message);
  }
  let producers = 0;
  const server = createServer((socket: Socket) => {
    const id = ++producers;
    const reader = new NdjsonReader<ReadItem | GroupItem>((item) => hand(item, id), { summaries: options.summaries === true });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('end', () => reader.end());
    // A producer gone without its end (a reset): what the reader holds is shown all the same.
    socket.on('close', () => reader.end());
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    // The umask could leave the socket open to others for a moment; listen with a tight one (and
    // give it back whether listen succeeds or fails).
    const previous = process.umask(0o177);
    server.once('error', (err) => {
      process.umask(previous);
      reject(err);
    });
    server.listen(path, () => {
      process.umask(previous);
      resolve();
    });
  });
  chmodSync(path, options.mode ?? 0o600);
  if (options.uid !== undefined || options.gid !== undefined) chownSync(path, options.uid ?? -1, options.gid ?? -1);
  return server;
}
