import { Readable } from 'node:stream';
import type { BodySink } from './exchange';

/** SinkSource: a pushed byte stream of the exchange (the request body, or a Filter's FCGI_DATA). */
export interface SinkSource {
  start(sink: BodySink): void;
  resume(): void;
}

/** The request body a fetch app has not read yet, queued before the transport is paused. */
const WEB_HIGH_WATER_MARK = 64 * 1024;

/** WebSinkStream: a ReadableStream fed by a SinkSource, and a switch to throw away what is left. */
export interface WebSinkStream {
  stream: ReadableStream<Uint8Array>;
  /** discard: the app is done; drain the rest (a CGI server blocks until stdin is read, FIELD-NOTES). */
  discard(): void;
  /** fail: the request was aborted; a reader waiting for bytes gets `reason`. */
  fail(reason: Error): void;
  /**
   * failure: the error the source failed with (a body over the limit, a CGI stdin shorter than
   * CONTENT_LENGTH), or null: the fetch adapter answers its status when the app lets it through.
   */
  readonly failure: Error | null;
}

/**
 * createWebSinkStream: a WHATWG ReadableStream over a pushed source, with backpressure both ways:
 * `data` returns false once 64 KiB wait unread (the transport pauses), and `pull` resumes it.
 * Chunks are enqueued as they are (no copy); the stream is not a byte stream, whose enqueue would
 * detach the transport's buffers.
 */
export function createWebSinkStream(source: SinkSource): WebSinkStream {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  let discarding = false;
  let failure: Error | null = null;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      source.resume();
    },
    cancel() {
      open = false;
      discarding = true;
      source.resume();
    },
  }, { highWaterMark: WEB_HIGH_WATER_MARK, size: (chunk) => chunk.byteLength });
  source.start({
    data(chunk) {
      if (discarding || !open) return true;
      controller.enqueue(chunk);
      return (controller.desiredSize ?? 0) > 0;
    },
    end() {
      if (open) controller.close();
      open = false;
    },
    error(err) {
      failure = err;
      if (open) controller.error(err);
      open = false;
    },
  });
  return {
    stream,
    get failure() {
      return failure;
    },
    discard() {
      discarding = true;
      source.resume();
    },
    fail(reason) {
      if (open) controller.error(reason);
      open = false;
      discarding = true;
    },
  };
}

/** createNodeSinkReadable: the same source as a Node Readable (for (req, res) apps). */
export function createNodeSinkReadable(source: SinkSource): Readable {
  const readable = new Readable({ read: () => source.resume() });
  source.start({
    data: (chunk) => readable.push(chunk),
    end: () => {
      readable.push(null);
    },
    error: (err) => {
      readable.destroy(err);
    },
  });
  return readable;
}
