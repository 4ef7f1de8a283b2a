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
  /**
   * partial: this is a piece of a stream record's content, and more of the same record follows
   * (only with RecordDecoderOptions.streamPieces). The last piece comes without the flag.
   */
  partial?: true;
}

/** RecordDecoderOptions: limits of the decoder. */
export interface RecordDecoderOptions {
  /** Accept a version byte other than 1 instead of failing (for inspection tools). */
  allowAnyVersion?: boolean;
  /**
   * streamPieces: a STDIN, DATA, STDOUT or STDERR record whose content is cut by the end of a chunk
   * is emitted in pieces as its bytes arrive (views into the chunks, each non-empty; all but the
   * last marked `partial`), instead of being gathered into a buffer of its own. A body's bytes are
   * then never copied: gathering was a third of the CPU of a 1 MiB POST behind nginx (bench/
   * nginx suite, post-1m-c32), in copies and in the garbage of 64 KiB buffers. The pieces of a
   * record depend on how the bytes were split; their concatenation does not.
   */
  streamPieces?: boolean;
}

/** isStream: the record types whose content is a byte stream (spec 5.3, 6.4). */
function isStream(type: number): boolean {
  return type >= 5 && type <= 8; // STDIN, STDOUT, STDERR, DATA
}

/** State: which part of a record the decoder is inside when a chunk ends (Header: between records too). */
const enum State {
  Header,
  Content,
  Padding,
}

const EMPTY = Buffer.alloc(0);
/** VIEW_SLOTS: content views remembered, one per record type (11 types; a power of two). */
const VIEW_SLOTS = 16;

/**
 * RecordDecoder: a streaming state machine from bytes to records. Feed it chunks of any size with
 * `push`; any split of the same bytes yields the same records. Bytes are copied only when a header or
 * a content spans chunks; otherwise `content` is a view into the pushed chunk (which stays valid after
 * the callback: the decoder never writes into a chunk nor reuses a buffer it has handed out). Two
 * records whose content is the same window of the same chunk may be given the same view (#view).
 *
 * Speed (bench codec, decode-64k and decode-request): records wholly inside a chunk are read in one
 * loop over (chunk, offset): the header bytes by index, one content view, one record literal of a
 * fixed shape; no header object, no chunk list to shift, no closure. Only a record cut by the end of
 * a chunk goes through the slower #resume path (a scratch header, a content buffer filled by copies).
 */
export class RecordDecoder {
  readonly #onRecord: (record: FastCGIRecord) => void;
  readonly #allowAnyVersion: boolean;
  readonly #streamPieces: boolean;
  /** #pieceMode: the record in progress is emitted in pieces (streamPieces); #fill counts bytes already emitted. */
  #pieceMode = false;
  #state: State = State.Header;
  /** #fill: bytes of the current part received: header bytes in #scratch, content in #content, padding skipped. */
  #fill = 0;
  // The header of the record in progress, while its content or padding spans chunks.
  #version = 0;
  #type = 0;
  #requestId = 0;
  #contentLength = 0;
  #paddingLength = 0;
  /** #scratch: the first bytes of a header cut by the end of a chunk (allocated on first need). */
  #scratch: Buffer | null = null;
  /** #content: the content of a record cut by the end of a chunk, filled up to #fill. */
  #content: Buffer = EMPTY;
  // Set before every callback: the chunk being decoded and where its unread bytes start, so that a
  // callback that throws loses no input (the rest is decoded on the next push, as before).
  #chunk: Buffer = EMPTY;
  #next = 0;
  /** #end: where the chunk being decoded ends (push's `end`: a read into a larger buffer). */
  #end = 0;
  /** #busy: inside #decode; a push from a callback queues its chunk in #pending to keep the byte order. */
  #busy = false;
  #pending: Buffer[] = [];
  #failed: ProtocolError | null = null;
  /** #views, #viewChunks, #viewStarts: per record type (its low bits), the last content view made and its window (#view). */
  #views: Buffer[] = new Array<Buffer>(VIEW_SLOTS).fill(EMPTY);
  #viewChunks: Buffer[] = new Array<Buffer>(VIEW_SLOTS).fill(EMPTY);
  #viewStarts = new Int32Array(VIEW_SLOTS);

  constructor(onRecord: (record: FastCGIRecord) => void, options: RecordDecoderOptions = {}) {
    this.#onRecord = onRecord;
    this.#allowAnyVersion = options.allowAnyVersion === true;
    this.#streamPieces = options.streamPieces === true;
  }

  /** bufferedBytes: bytes received but not yet part of an emitted record. */
  get bufferedBytes(): number {
    let n = this.#pieceMode ? 0 : this.#fill;
    for (const c of this.#pending) n += c.length;
    return n;
  }

  /** holdsInput: pushed chunks wait in the decoder (views of them, kept for a later push). */
  get holdsInput(): boolean {
    return this.#pending.length !== 0;
  }

  /** isAtRecordBoundary: true when no partial record is pending (a clean place for EOF). */
  get isAtRecordBoundary(): boolean {
    return this.#state === State.Header && this.#fill === 0 && this.bufferedBytes === 0;
  }

  /**
   * push: feed bytes: `chunk` up to `end` (its length unless given: a reader that reads into a
   * buffer of its own passes the buffer and the bytes read, without making a view per read).
   * Emits every record they complete, in order. Throws ProtocolError on a malformed header; after
   * that the decoder refuses further input (the stream has lost framing).
   */
  push(chunk: Buffer, end = chunk.length): void {
    if (this.#failed !== null) throw this.#failed;
    if (this.#busy || this.#pending.length !== 0) {
      this.#pending.push(end === chunk.length ? chunk : chunk.subarray(0, end));
      if (this.#busy) return; // the outer push decodes it after the rest of its own chunk
    } else {
      this.#run(chunk, end);
    }
    while (this.#pending.length !== 0) {
      const next = this.#pending.shift()!;
      this.#run(next, next.length);
    }
  }

  /** end: the input is over; throws FCGI_ERR_TRUNCATED_RECORD if it stopped inside a record. */
  end(): void {
    if (this.#failed) return;
    if (!this.isAtRecordBoundary) {
      throw new ProtocolError('FCGI_ERR_TRUNCATED_RECORD',
        `stream ended inside a record (${this.bufferedBytes} bytes pending)`);
    }
  }

  #run(chunk: Buffer, end: number): void {
    if (end === 0) return;
    this.#busy = true;
    this.#end = end;
    try {
      this.#decode(chunk);
    } catch (err) {
      // A callback threw: keep the bytes after its record for the next push. (A malformed header
      // sets #failed instead: the rest means nothing.)
      if (this.#failed === null && this.#next < end) this.#pending.unshift(this.#chunk.subarray(this.#next, end));
      throw err;
    } finally {
      this.#busy = false;
      this.#chunk = EMPTY;
    }
  }

  #decode(chunk: Buffer): void {
    const end = this.#end;
    let pos = 0;
    this.#chunk = chunk;
    if (this.#state !== State.Header || this.#fill !== 0) {
      pos = this.#resume(chunk);
      if (pos >= end) return;
    }
    const onRecord = this.#onRecord;
    // The fast path: whole headers inside this chunk.
    while (end - pos >= FCGI_HEADER_LEN) {
      const version = chunk[pos]!;
      if (version !== FCGI_VERSION_1 && !this.#allowAnyVersion) throw this.#badVersion(version);
      const type = chunk[pos + 1]!;
      const requestId = (chunk[pos + 2]! << 8) | chunk[pos + 3]!;
      const contentLength = (chunk[pos + 4]! << 8) | chunk[pos + 5]!;
      const paddingLength = chunk[pos + 6]!;
      const start = pos + FCGI_HEADER_LEN;
      const stop = start + contentLength;
      if (stop > end) {
        this.#setHeader(version, type, requestId, contentLength, paddingLength);
        if (this.#streamPieces && isStream(type)) {
          // The content goes on in the next chunk: what is here leaves now, as a piece.
          this.#pieceMode = true;
          this.#fill = end - start;
          this.#state = State.Content;
          if (end > start) {
            this.#next = end;
            this.#emitPiece(chunk.subarray(start, end));
          }
          return;
        }
        // The content goes on in the next chunk: gather it in a buffer of its own.
        const content = Buffer.allocUnsafe(contentLength);
        chunk.copy(content, 0, start, end);
        this.#content = content;
        this.#fill = end - start;
        this.#state = State.Content;
        return;
      }
      pos = stop + paddingLength;
      if (pos > end) {
        // The padding goes on in the next chunk: the record is complete, emit it now.
        this.#setHeader(version, type, requestId, contentLength, paddingLength);
        this.#state = State.Padding;
        this.#fill = end - stop;
        pos = end;
      }
      this.#next = pos;
      onRecord({
        version, type, requestId, contentLength, paddingLength,
        content: contentLength === 0 ? EMPTY : this.#view(chunk, start, stop, type),
      });
    }
    if (pos < end) {
      // The first bytes of a header.
      const scratch = this.#scratch ??= Buffer.allocUnsafe(FCGI_HEADER_LEN);
      chunk.copy(scratch, 0, pos, end);
      this.#fill = end - pos;
    }
  }

  /**
   * #resume: continue the record cut by the end of the previous chunk; returns the offset in `chunk`
   * where the next record starts (or the chunk's end when it ends inside this one).
   */
  #resume(chunk: Buffer): number {
    const end = this.#end;
    let pos = 0;
    if (this.#state === State.Header) {
      const scratch = this.#scratch!;
      const take = Math.min(FCGI_HEADER_LEN - this.#fill, end);
      chunk.copy(scratch, this.#fill, 0, take);
      this.#fill += take;
      pos = take;
      if (this.#fill < FCGI_HEADER_LEN) return end;
      const version = scratch[0]!;
      if (version !== FCGI_VERSION_1 && !this.#allowAnyVersion) throw this.#badVersion(version);
      const contentLength = (scratch[4]! << 8) | scratch[5]!;
      this.#setHeader(version, scratch[1]!, (scratch[2]! << 8) | scratch[3]!, contentLength, scratch[6]!);
      this.#fill = 0;
      if (end - pos >= contentLength) {
        // The whole content is here: a view, as on the fast path.
        const content = contentLength === 0 ? EMPTY : chunk.subarray(pos, pos + contentLength);
        return this.#emit(chunk, pos + contentLength, content);
      }
      this.#state = State.Content;
      if (this.#streamPieces && isStream(this.#type)) this.#pieceMode = true;
      else this.#content = Buffer.allocUnsafe(contentLength);
    }
    if (this.#state === State.Content && this.#pieceMode) {
      const take = Math.min(this.#contentLength - this.#fill, end - pos);
      const piece = chunk.subarray(pos, pos + take);
      this.#fill += take;
      pos += take;
      if (this.#fill < this.#contentLength) {
        if (take > 0) {
          this.#next = end;
          this.#emitPiece(piece);
        }
        return end;
      }
      // The last piece is the record itself (no `partial`), so padding and state go as usual.
      this.#pieceMode = false;
      return this.#emit(chunk, pos, piece);
    }
    if (this.#state === State.Content) {
      const take = Math.min(this.#contentLength - this.#fill, end - pos);
      chunk.copy(this.#content, this.#fill, pos, pos + take);
      this.#fill += take;
      pos += take;
      if (this.#fill < this.#contentLength) return end;
      const content = this.#content;
      this.#content = EMPTY;
      return this.#emit(chunk, pos, content);
    }
    // State.Padding
    const take = Math.min(this.#paddingLength - this.#fill, end - pos);
    this.#fill += take;
    pos += take;
    if (this.#fill < this.#paddingLength) return end;
    this.#state = State.Header;
    this.#fill = 0;
    return pos;
  }

  /** #emit: the record whose content ended at `pos` in `chunk`; skips what padding is here first. */
  #emit(chunk: Buffer, pos: number, content: Buffer): number {
    const end = this.#end;
    const padding = this.#paddingLength;
    if (end - pos >= padding) {
      pos += padding;
      this.#state = State.Header;
      this.#fill = 0;
    } else {
      this.#state = State.Padding;
      this.#fill = end - pos;
      pos = end;
    }
    this.#next = pos;
    this.#onRecord({
      version: this.#version, type: this.#type, requestId: this.#requestId,
      contentLength: this.#contentLength, paddingLength: padding, content,
    });
    return pos;
  }

  /**
   * #view: the content view chunk[start, stop), the same view object as the last record of this
   * type's when that one was the same bytes of the same chunk. A connection reading into a buffer
   * of its own pushes the same chunk read after read, and nginx's requests put their BEGIN_REQUEST
   * and PARAMS at the same offsets each time: Buffer#subarray reads `buffer` through a C++ getter
   * and makes a typed array, ~0.7k instructions per view under callgrind (bench/README.md, nginx,
   * "Eighth session"). A view is a window, not the bytes: two records of the same window may
   * share it (whether the bytes under it are still there is the reader's affair, as before).
   */
  #view(chunk: Buffer, start: number, stop: number, type: number): Buffer {
    const slot = type & (VIEW_SLOTS - 1);
    const last = this.#views[slot]!;
    if (this.#viewChunks[slot] === chunk && this.#viewStarts[slot] === start && last.length === stop - start) return last;
    const view = chunk.subarray(start, stop);
    this.#views[slot] = view;
    this.#viewChunks[slot] = chunk;
    this.#viewStarts[slot] = start;
    return view;
  }

  /** #emitPiece: a piece of the stream record in progress; more of it follows. */
  #emitPiece(content: Buffer): void {
    this.#onRecord({
      version: this.#version, type: this.#type, requestId: this.#requestId,
      contentLength: this.#contentLength, paddingLength: this.#paddingLength, content, partial: true,
    });
  }

  #setHeader(version: number, type: number, requestId: number, contentLength: number, paddingLength: number): void {
    this.#version = version;
    this.#type = type;
    this.#requestId = requestId;
    this.#contentLength = contentLength;
    this.#paddingLength = paddingLength;
  }

  #badVersion(version: number): ProtocolError {
    this.#failed = new ProtocolError('FCGI_ERR_BAD_VERSION', `invalid header version ${version}`);
    return this.#failed;
  }
}
