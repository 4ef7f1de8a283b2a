// The part of fastcgi-stream 1.0.0 the codec suite drives (it ships no types), and one-call
// wrappers so the worker's loops look the same for both decoders and both encoders.
import { EventEmitter } from 'node:events';

/** PeerRecord: a decoded record; the prototype carries TYPE. */
export interface PeerRecord {
  readonly TYPE: number;
  params?: Array<string | [string, string]>;
}
interface PeerSink {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  write(buf: Buffer): boolean;
}
interface PeerStream {
  on(event: 'record', listener: (requestId: number, record: PeerRecord) => void): unknown;
  writeRecord(requestId: number, record: object): boolean;
}
interface PeerModule {
  FastCGIStream: new (source: PeerSink) => PeerStream;
  records: {
    StdOut: new (data?: Buffer) => object;
    EndRequest: new (appStatus: number, protocolStatus: number) => object;
  };
}

const peer = require('fastcgi-stream') as PeerModule;

/** PeerEndpoint: a fastcgi-stream FastCGIStream over an in-memory duplex that counts bytes written. */
export interface PeerEndpoint {
  feed(chunk: Buffer): void;
  stream: PeerStream;
  written(): number;
  records: PeerModule['records'];
}

/** createPeerEndpoint: the peer's stream object over a fake socket; records go to `onRecord`. */
export function createPeerEndpoint(onRecord: (requestId: number, record: PeerRecord) => void): PeerEndpoint {
  let bytes = 0;
  const sink = Object.assign(new EventEmitter(), {
    write(buf: Buffer): boolean {
      bytes += buf.length;
      return true;
    },
  });
  const stream = new peer.FastCGIStream(sink);
  stream.on('record', onRecord);
  return { feed: (c) => sink.emit('data', c), stream, written: () => bytes, records: peer.records };
}
