import type { BodySink } from '../handlers/exchange';

/**
 * InboundStream: one input stream of a request other than STDIN (a Filter's FCGI_DATA, spec 6.4).
 * Bytes that arrive before the app starts reading are held up to `limit`, then the connection is
 * paused; a sink whose `data` returns false pauses it too, until `resume`. An empty chunk ends the
 * stream (spec 5.3).
 */
export class InboundStream {
  /** paused: this stream asked the connection to stop reading. */
  paused = false;
  #sink: BodySink | null = null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;
  #delivered = false;
  #limit: number;
  #pause: () => void;
  #resume: () => void;

  /** `pause`/`resume` ask the connection to stop and go on reading for this stream. */
  constructor(limit: number, pause: () => void, resume: () => void) {
    this.#limit = limit;
    this.#pause = pause;
    this.#resume = resume;
  }

  push(chunk: Buffer): void {
    if (this.#ended) return;
    if (chunk.length === 0) {
      this.#ended = true;
      if (this.#sink && this.#pending.length === 0) this.#finish();
      return;
    }
    if (this.#sink && !this.paused && this.#pending.length === 0) {
      if (!this.#sink.data(chunk)) this.#setPaused();
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (!this.paused && this.#pendingBytes > this.#limit) this.#setPaused();
  }

  start(sink: BodySink): void {
    this.#sink = sink;
    this.#flush();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.#flush();
    if (!this.paused) this.#resume();
  }

  /** clear: the request is gone; held bytes are dropped. */
  clear(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#ended = true;
  }

  #setPaused(): void {
    this.paused = true;
    this.#pause();
  }

  #flush(): void {
    const sink = this.#sink;
    if (!sink) return;
    while (this.#pending.length > 0 && !this.paused) {
      const chunk = this.#pending.shift()!;
      this.#pendingBytes -= chunk.length;
      if (!sink.data(chunk)) this.#setPaused();
    }
    if (!this.paused && this.#pending.length === 0 && this.#ended) this.#finish();
  }

  #finish(): void {
    if (this.#delivered) return;
    this.#delivered = true;
    this.#sink!.end();
  }
}
