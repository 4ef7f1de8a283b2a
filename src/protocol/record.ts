import { FCGI_HEADER_LEN, FCGI_VERSION_1 } from './constants';
import { ProtocolError } from './errors';

/** FastCGIRecord: one decoded record (spec 3.3). `content` excludes padding. */
export interface FastCGIRecord {
  version: number;
  type: number;
  requestId: number;
  contentLength: number;
  paddingLength: number;
  content: Buffer;
}

/** RecordDecoderOptions: limits of the decoder. */
export interface RecordDecoderOptions {
  /** Accept a version byte other than 1 instead of failing (for inspection tools). */
  allowAnyVersion?: boolean;
}

const enum State {
  Header,
  Content,
  Padding,
}

const EMPTY = Buffer.alloc(0);

/**
 * RecordDecoder: a streaming state machine from bytes to records. Feed it chunks of any size with
 * `push`; any split of the same bytes yields the same records. Bytes are copied only when a header or
 * a content spans chunks; otherwise `content` is a view into the pushed chunk.
 */
export class RecordDecoder {
  #onRecord: (record: FastCGIRecord) => void;
  #allowAnyVersion: boolean;
  #state: State = State.Header;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #header: { version: number; type: number; requestId: number; contentLength: number; paddingLength: number } | null = null;
  #failed: ProtocolError | null = null;

  constructor(onRecord: (record: FastCGIRecord) => void, options: RecordDecoderOptions = {}) {
    this.#onRecord = onRecord;
    this.#allowAnyVersion = options.allowAnyVersion === true;
  }

  /** bufferedBytes: bytes received but not yet part of an emitted record. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** isAtRecordBoundary: true when no partial record is pending (a clean place for EOF). */
  get isAtRecordBoundary(): boolean {
    return this.#state === State.Header && this.#buffered === 0;
  }

  /**
   * push: feed bytes. Emits every record they complete, in order. Throws ProtocolError on a
   * malformed header; after that the decoder refuses further input (the stream has lost framing).
   */
  push(chunk: Buffer): void {
    if (this.#failed) throw this.#failed;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      switch (this.#state) {
        case State.Header: {
          if (this.#buffered < FCGI_HEADER_LEN) return;
          const h = this.#consume(FCGI_HEADER_LEN);
          const version = h[0]!;
          if (version !== FCGI_VERSION_1 && !this.#allowAnyVersion) {
            this.#failed = new ProtocolError('FCGI_ERR_BAD_VERSION', `invalid header version ${version}`);
            throw this.#failed;
          }
          this.#header = {
            version,
            type: h[1]!,
            requestId: (h[2]! << 8) | h[3]!,
            contentLength: (h[4]! << 8) | h[5]!,
            paddingLength: h[6]!,
          };
          this.#state = State.Content;
          break;
        }
        case State.Content: {
          const header = this.#header!;
          if (this.#buffered < header.contentLength) return;
          const content = header.contentLength === 0 ? EMPTY : this.#consume(header.contentLength);
          this.#state = State.Padding;
          this.#onRecord({ ...header, content });
          break;
        }
        case State.Padding: {
          const padding = this.#header!.paddingLength;
          if (this.#buffered < padding) return;
          if (padding > 0) this.#skip(padding);
          this.#header = null;
          this.#state = State.Header;
          if (this.#buffered === 0) return;
          break;
        }
      }
    }
  }

  /** end: the input is over; throws FCGI_ERR_TRUNCATED_RECORD if it stopped inside a record. */
  end(): void {
    if (this.#failed) return;
    if (!this.isAtRecordBoundary) {
      throw new ProtocolError('FCGI_ERR_TRUNCATED_RECORD',
        `stream ended inside a record (${this.#buffered} bytes pending)`);
    }
  }

  /** #consume: take n buffered bytes; copies only when they span chunks. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (n === first.length) return this.#chunks.shift()!;
    if (n < first.length) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const buf = this.#chunks[0]!;
      const take = Math.min(buf.length, n - offset);
      buf.copy(out, offset, 0, take);
      offset += take;
      if (take === buf.length) this.#chunks.shift();
      else this.#chunks[0] = buf.subarray(take);
    }
    return out;
  }

  #skip(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const buf = this.#chunks[0]!;
      if (n >= buf.length) {
        n -= buf.length;
        this.#chunks.shift();
      } else {
        this.#chunks[0] = buf.subarray(n);
        n = 0;
      }
    }
  }
}
