/**
 * WireMirror: the serving side of "capture cheap, decode at the reader". While a trace socket
 * listens (the dashboard, `tail`), a FastCGI connection builds no trace event for its records:
 * it appends each record it reads or writes (its header, and of its content what the redaction
 * policy lets through) to this per-process buffer as a frame (wire-format.ts), and the socket sink
 * sends the buffer every 20 ms as one `ev: "wire"` line (base64). Readers decode the frames into
 * the record, request.start and request.end events a line per event would have carried
 * (wire-decode.ts).
 *
 * Why: events built per record and per request (notes, the params JSON, a grouped line per
 * request, its encoding) were ~10 µs of the serving process's CPU per traced hello request, after
 * five rounds of trimming them (bench/README "trace", fifth round); a frame is a copy of a few
 * dozen bytes (the PARAMS stream once per request), and the text is made once per batch, natively
 * (base64). What it buys: bench/README "trace", sixth round.
 *
 * Redaction happens here, in the serving process: stream bodies (STDIN, STDOUT, DATA) are not
 * sent unless secrets are shown (then their first bytes, as a preview); PARAMS with a secret name
 * and response heads with a secret header have those values overwritten (same length, so the
 * reader can still cut the stream at its records' boundaries); STDERR's first bytes always go
 * (diagnostics, as before). A response's head goes (its status and headers), never its body.
 */
import { performance } from 'node:perf_hooks';
import { RecordType } from '../protocol/constants';
import { traceOptions } from './redact';
import {
  CLOSE_FRAME_BYTES, CONT_FRAME_BYTES, FrameFlag, FrameKind, PARAMS_DELTA_FRAME_BYTES, PARAMS_FRAME_BYTES, RECORD_FRAME_BYTES, TIME_FRAME_BYTES, WIRE_VERSION,
} from './wire-format';
import { cleanHead, cleanHeadLength, hasSecretName, headEnd, headKnownClean, maskHead, maskParams } from './wire-redact';
import { wireTargetJson } from './wire-target';

/** HEAD_LIMIT: at most this much of a response's head is sent (a head without its end is cut there). */
const HEAD_LIMIT = 8 * 1024;
/** CONTROL_LIMIT: at most this much of a management record's content (GET_VALUES names) is sent. */
const CONTROL_LIMIT = 4 * 1024;
const INITIAL_BYTES = 64 * 1024;
/**
 * TIME_ORIGIN: performance.timeOrigin, read once: its getter checks its receiver and was, with the
 * clock read, ~0.14k instructions per stamp under callgrind (bench/README "trace", eighth session).
 */
const TIME_ORIGIN = performance.timeOrigin;
/**
 * srcViews: a DataView per buffer a response head was read from (WireMirror#knownHead): each
 * FastCGI connection writes its responses into a slab of its own (one view kept for the last
 * buffer was a new view per request with 32 connections: Builtin_DataViewConstructor ~0.2k
 * instructions a request under callgrind). Weak: a view never keeps a slab or an app's buffer alive.
 */
const srcViews = new WeakMap<Buffer, DataView>();
/** CLEAN_VIEW: the last clean head as a DataView (#knownHead). */
const CLEAN_VIEW = new DataView(cleanHead().buffer, cleanHead().byteOffset, cleanHead().length);
/** STAMP, STAMP_BYTES: a time stamp's eight bytes (little-endian on LITTLE_ENDIAN platforms, else writeDoubleLE). */
const STAMP = new Float64Array(1);
const STAMP_BYTES = new Uint8Array(STAMP.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** BASE_BYTES: PARAMS streams up to this long can be a base or a DELTA (longer ones go whole). */
const BASE_BYTES = 16 * 1024;

/** HeadState: a request's response head as far as it was sent (FcgiRequest keeps it): bytes sent, or -1 once it is complete. */
export interface HeadState {
  wireHead: number;
}

/** ParamNames: what the mirror reads of a request's decoded params (fastcgi/param-list.ts ParamList). */
export interface ParamNames {
  readonly names: readonly string[];
}

/** WireMirror: the frames captured since the last batch, in one growing buffer. */
export class WireMirror {
  #buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  #used = 0;
  /** #stamp: the next frame takes a new time (set by tick(): once per read or output turn). */
  #stamp = true;
  /** generation: bumped when the buffer is taken; a frame's position is good only within one. */
  generation = 0;
  /** onData: called when the first frame of a batch is written (the sink arms its timer). */
  onData: () => void = () => {};
  /**
   * onFull: the sink takes the frames as a line of their own: at the start of a read once the
   * batch has passed `fullBytes` (readRead), so a request read and answered in one turn is not cut
   * across two lines (a reader gathers a request within a line: wire-decode.ts), or before a frame
   * that would take it past `hardBytes`. 88 KiB of frames is ~117 KiB of base64: a string V8 still
   * makes in its young generation. Larger ones went to its large-object space, fresh pages each
   * (mmap): with batches of 128 KiB the serving process had ~23k page faults a second more, and
   * ~4 µs of system time more per traced hello request (trace-probe drain; bench/README "trace",
   * sixth round).
   */
  onFull: () => void = () => {};
  fullBytes = 40 * 1024;
  hardBytes = 88 * 1024;

  /** bytes: how much is waiting. */
  get bytes(): number {
    return this.#used;
  }

  /** tick: the next frame starts a new time (a turn's output). No clock read until a frame needs it. */
  tick(): void {
    this.#stamp = true;
  }

  /** startRead: a read begins: a new time for its frames, and the batch is taken here if it is full (see onFull). */
  startRead(): void {
    this.#stamp = true;
    if (this.#used > this.fullBytes) this.onFull();
  }

  /** take: the batch's frames, as base64 (empty when none); the buffer starts again. */
  take(): string {
    if (this.#used === 0) return '';
    const text = this.#buf.toString('base64', 0, this.#used);
    this.#used = 0;
    this.#stamp = true;
    this.generation++;
    return text;
  }

  /** clear: drop the batch (the listener went away: nobody will read it). */
  clear(): void {
    this.#used = 0;
    this.#baseLength = -1; // a new listener has no base yet
    this.#stamp = true;
    this.generation++;
  }

  /** #room: where `n` more bytes go (a TIME frame first when one is due); the caller writes them. */
  #room(n: number): number {
    if (this.#used > 0 && this.#used + n > this.hardBytes) this.onFull();
    if (this.#used === 0) {
      this.onData();
      this.#stamp = true;
    }
    const need = this.#used + n + TIME_FRAME_BYTES;
    if (need > this.#buf.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(next, 0, 0, this.#used);
      this.#buf = next;
    }
    if (this.#stamp) {
      this.#stamp = false;
      const at = this.#used;
      const b = this.#buf;
      b[at] = FrameKind.time;
      const now = TIME_ORIGIN + performance.now();
      if (LITTLE_ENDIAN) {
        // By hand: Buffer#writeDoubleLE's offset checks (checkBounds, checkInt, a validator) were
        // ~0.25k of a hello request's instructions under callgrind (bench/README "trace", eighth session).
        STAMP[0] = now;
        for (let i = 0; i < 8; i++) b[at + 1 + i] = STAMP_BYTES[i]!;
      } else b.writeDoubleLE(now, at + 1);
      this.#used = at + TIME_FRAME_BYTES;
    }
    const at = this.#used;
    this.#used = at + n;
    return at;
  }

  /**
   * recordIn: a record read from the web server (`piece`: its content arrives in pieces and this
   * is the first). PARAMS content is not sent here: the whole stream goes once it is complete
   * (params()), where secret values can be found whatever the record boundaries. Returns how many
   * content bytes went.
   */
  recordIn(conn: number, rid: number, type: number, requestId: number, contentLength: number, paddingLength: number,
    content: Buffer, piece: boolean): number {
    const ship = inShip(type, content.length);
    this.#record(FrameKind.recordIn, inFlags(type) | (piece ? FrameFlag.piece : 0), conn, rid, type, requestId, contentLength, paddingLength, content, 0, ship);
    return ship;
  }

  /**
   * cont: more of a record that arrives in pieces (`last`: its last piece). Bytes go only while
   * its preview wants them (`sent`: how many went already); returns the new count.
   */
  cont(conn: number, type: number, content: Buffer, sent: number, last: boolean): number {
    const want = pieceWant(type);
    const ship = Math.min(content.length, Math.max(0, want - sent));
    if (ship === 0 && !last) return sent;
    const at = this.#room(CONT_FRAME_BYTES + ship);
    const b = this.#buf;
    b[at] = FrameKind.cont;
    b[at + 1] = last ? FrameFlag.last : 0;
    writeU32(b, at + 2, conn);
    writeU32(b, at + 6, ship);
    if (ship > 0) content.copy(b, at + CONT_FRAME_BYTES, 0, ship);
    return sent + ship;
  }

  /**
   * recordOut: a record written to the web server, its content at `src[from, from + contentLength)`.
   * A response's first STDOUT bytes up to the end of its head go (`head`: its request's state);
   * returns the frame's position (for grow()), or -1.
   */
  recordOut(conn: number, rid: number, type: number, requestId: number, contentLength: number, paddingLength: number,
    src: Buffer, from: number, head: HeadState | null): number {
    let ship = 0;
    let flags = 0;
    let headBytes = 0;
    let headDone = false;
    switch (type) {
      case RecordType.Stdout:
        if (head !== null && head.wireHead === 0 && contentLength > 0 && !traceOptions.showSecrets) {
          const at = this.#knownHead(conn, rid, requestId, contentLength, paddingLength, src, from);
          if (at >= 0) {
            head.wireHead = -1;
            return at;
          }
        }
        if (head !== null && head.wireHead >= 0 && contentLength > 0) {
          const r = headEnd(src, from, from + contentLength, HEAD_LIMIT - head.wireHead);
          headDone = r > 0 && head.wireHead === 0;
          headBytes = r > 0 ? r : -r;
          head.wireHead = r > 0 || head.wireHead + headBytes >= HEAD_LIMIT ? -1 : head.wireHead + headBytes;
          ship = headBytes;
          flags = FrameFlag.head;
        }
        if (traceOptions.showSecrets && contentLength > 0) {
          ship = Math.max(ship, Math.min(contentLength, traceOptions.previewBytes + 1));
          flags |= FrameFlag.preview;
        }
        break;
      case RecordType.Stderr:
        ship = inShip(type, contentLength);
        flags = inFlags(type);
        break;
      case RecordType.EndRequest:
      case RecordType.GetValuesResult:
      case RecordType.UnknownType:
        ship = Math.min(contentLength, CONTROL_LIMIT);
        break;
      default:
    }
    const at = this.#record(FrameKind.recordOut, flags, conn, rid, type, requestId, contentLength, paddingLength, src, from, ship);
    if (headBytes > 0 && !traceOptions.showSecrets && !(headDone && headKnownClean())
      && maskHead(this.#buf, at + RECORD_FRAME_BYTES, at + RECORD_FRAME_BYTES + headBytes, headDone)) {
      this.#buf[at + 1] = flags | FrameFlag.masked;
    }
    // Growable (the connection adds the next STDOUT write of the turn to this record) only while
    // nothing more of it is to be sent: a body that is not a preview.
    return type === RecordType.Stdout && (head === null || head.wireHead < 0) && (flags & FrameFlag.preview) === 0 ? at : -1;
  }

  /**
   * grow: the record whose frame is at `at` (recordOut, this generation) was made longer by the
   * connection (a STDOUT write added to it): its header in the frame says so. false when the
   * frame is gone (the batch was sent): the connection then writes a record of its own.
   */
  grow(at: number, generation: number, contentLength: number, paddingLength: number): boolean {
    if (at < 0 || generation !== this.generation) return false;
    const b = this.#buf;
    b[at + 14] = contentLength >> 8;
    b[at + 15] = contentLength & 0xff;
    b[at + 16] = paddingLength;
    return true;
  }

  /**
   * The params base: the last PARAMS stream sent whole on this trace connection, as bytes. A
   * request's stream goes as a DELTA frame (wire-format.ts) when it differs from the base in less
   * than half of it: the whole pairs from the first differing byte to the last, and how much of the
   * base comes before and after them. Behind nginx only REMOTE_PORT changes: ~30 bytes instead of
   * ~620, so less to copy, encode, write, wake the reader for and for it to decode (bench/README
   * "trace", seventh round). Compared as bytes, not as the decoded params: nginx sends SCRIPT_NAME
   * twice (fastcgi_params, then the site's), and a decoded list keeps only the last value. Both
   * are copied to buffers of their own and compared eight bytes at a time (#delta; a loop over 620
   * single bytes was ~0.8 µs).
   */
  #base = Buffer.allocUnsafeSlow(BASE_BYTES);
  #baseLength = -1;
  #scratch = Buffer.allocUnsafeSlow(BASE_BYTES);
  #base64 = new Float64Array(this.#base.buffer, this.#base.byteOffset, BASE_BYTES >> 3);
  #scratch64 = new Float64Array(this.#scratch.buffer, this.#scratch.byteOffset, BASE_BYTES >> 3);
  #baseStarts: number[] = [];
  #baseCount = 0;

  /**
   * params: a request's whole PARAMS stream, once complete (`list`: the same, decoded), as a DELTA
   * from the base when it can be, else whole (and it becomes the base). Unless secrets are shown,
   * the values of secret params are overwritten in the copy; whether there are any is read from
   * the decoded names (a length test per name, cached strings), so a request without them costs
   * the copy alone.
   */
  params(conn: number, rid: number, requestId: number, bytes: Buffer, list: ParamNames): void {
    const masked = !traceOptions.showSecrets;
    const n = bytes.length;
    if (n > BASE_BYTES) this.#baseLength = -1;
    else if (this.#baseLength >= 0 && this.#delta(conn, rid, requestId, bytes, list, masked)) return;
    const at = this.#room(PARAMS_FRAME_BYTES + n);
    const b = this.#buf;
    paramsFrameHead(b, at, FrameKind.params, masked, conn, rid, requestId);
    writeU32(b, at + 12, n);
    bytes.copy(b, at + PARAMS_FRAME_BYTES);
    if (masked && this.#hasSecretName(list.names)) maskParams(b, at + PARAMS_FRAME_BYTES, at + PARAMS_FRAME_BYTES + n);
    if (n <= BASE_BYTES) {
      this.#baseCount = pairStarts(bytes, this.#baseStarts);
      bytes.copy(this.#base, 0);
      this.#baseLength = this.#baseCount < 0 ? -1 : n;
    }
  }

  /**
   * #delta: the params as a DELTA frame against the base; false when most of them differ (they then go whole).
   *
   * Cheaper than it was (bench/README "trace", eighth session: ~4.7k -> ~2.5k instructions of a
   * hello request under callgrind): the stream is copied with TypedArray#set (Buffer#copy's argument
   * checks and view were ~0.5k), compared eight bytes at a time from both ends (a stream as long as
   * the base, as nginx's are while only REMOTE_PORT changes, lines up with it from the end too; the
   * byte loop over the ~200 bytes after REMOTE_PORT was ~1.2k), and only the changed pairs are walked:
   * the pairs before the first difference are the base's (the same bytes), so its pair starts say
   * where the changed pair begins, and the pairs after the last one are the base's suffix, checked
   * against its pair starts as before (a walk over all the stream's pairs was ~1.4k).
   */
  #delta(conn: number, rid: number, requestId: number, bytes: Buffer, list: ParamNames, masked: boolean): boolean {
    const n = bytes.length;
    const bl = this.#baseLength;
    const base = this.#base;
    const scratch = this.#scratch;
    scratch.set(bytes);
    const max = n < bl ? n : bl;
    const s64 = this.#scratch64;
    const b64 = this.#base64;
    // Doubles compare unequal for NaN bits and equal for +0 and -0: such words (and a difference)
    // are compared byte by byte, which goes on past them when they were equal.
    const words = max >> 3;
    let w = 0;
    while (w < words && s64[w] === b64[w] && s64[w] !== 0) w++;
    let same = w << 3;
    while (same < max && scratch[same] === base[same]) same++;
    // `i`: the first byte from which the stream's end equals the base's end; the two ends never
    // overlap the first difference in the shorter of them (`lower`).
    let i = n;
    const lower = n - max + same;
    if (n === bl) {
      while (i > lower && (i & 7) !== 0 && scratch[i - 1] === base[i - 1]) i--;
      if ((i & 7) === 0) {
        let v = i >> 3;
        while (((v - 1) << 3) >= lower && s64[v - 1] === b64[v - 1] && s64[v - 1] !== 0) v--;
        i = v << 3;
        while (i > lower && scratch[i - 1] === base[i - 1]) i--;
      }
    } else {
      const shift = bl - n;
      while (i > lower && scratch[i - 1] === base[i - 1 + shift]) i--;
    }
    // Whole pairs in between (masking reads pairs; a reader counts them): the prefix ends, and
    // the suffix starts, where a pair does. The pairs that end by `same` are the base's.
    const baseStarts = this.#baseStarts;
    const baseCount = this.#baseCount;
    let k = 0;
    while (k < baseCount && baseStarts[k + 1]! <= same) k++;
    const p = baseStarts[k]!;
    // The stream's own pairs from p, until one starts where its end equals the base's.
    let q = p;
    while (q < n && q < i) {
      q = pairEnd(scratch, q, n);
      if (q < 0) return false;
    }
    const s = n - q;
    const mid = q - p;
    if (mid * 2 > n) return false;
    // The base's suffix must be whole pairs of the base too, so that it was masked as these are.
    let j = baseCount;
    while (j > 0 && baseStarts[j]! > bl - s) j--;
    if (baseStarts[j] !== bl - s) return false;
    const at = this.#room(PARAMS_DELTA_FRAME_BYTES + mid);
    const b = this.#buf;
    paramsFrameHead(b, at, FrameKind.paramsDelta, masked, conn, rid, requestId);
    writeU32(b, at + 12, p);
    writeU32(b, at + 16, s);
    writeU32(b, at + 20, mid);
    if (mid > 0) {
      const to = at + PARAMS_DELTA_FRAME_BYTES;
      // A few dozen bytes (REMOTE_PORT's pair) by hand, as in #record.
      if (mid <= 64) for (let c = 0; c < mid; c++) b[to + c] = scratch[p + c]!;
      else bytes.copy(b, to, p, p + mid);
      if (masked && this.#hasSecretName(list.names)) maskParams(b, to, to + mid);
    }
    return true;
  }

  /**
   * #hasSecretName: hasSecretName of a request's names, remembered for the last names array: the
   * lists decoded from one remembered stream share theirs (fastcgi/param-memo.ts), so behind nginx
   * it is one comparison per request instead of a test per name (~3% of the mirror's time in a
   * microbenchmark). Lists never change their names once handed out.
   */
  #secretNamesOf: readonly string[] | null = null;
  #secretNamesLength = -1;
  #secretNames = false;
  #hasSecretName(names: readonly string[]): boolean {
    if (names !== this.#secretNamesOf || names.length !== this.#secretNamesLength) {
      this.#secretNames = hasSecretName(names);
      this.#secretNamesOf = names;
      this.#secretNamesLength = names.length;
    }
    return this.#secretNames;
  }

  /** close: the connection closed. */
  close(conn: number): void {
    const at = this.#room(CLOSE_FRAME_BYTES);
    this.#buf[at] = FrameKind.close;
    writeU32(this.#buf, at + 1, conn);
  }

  #record(kind: number, flags: number, conn: number, rid: number, type: number, requestId: number, contentLength: number,
    paddingLength: number, src: Buffer, from: number, ship: number): number {
    const at = this.#frameHead(kind, flags, conn, rid, type, requestId, contentLength, paddingLength, ship);
    const b = this.#buf;
    // A few bytes (BEGIN_REQUEST's and END_REQUEST's eight) by hand: Buffer#copy's argument
    // handling (_copyActual) was most of this function in the serving process's profile.
    if (ship <= 16) for (let i = 0; i < ship; i++) b[at + RECORD_FRAME_BYTES + i] = src[from + i]!;
    else src.copy(b, at + RECORD_FRAME_BYTES, from, from + ship);
    return at;
  }

  /** #frameHead: room for a RECORD frame carrying `ship` content bytes, its head written; returns where it starts. */
  #frameHead(kind: number, flags: number, conn: number, rid: number, type: number, requestId: number, contentLength: number,
    paddingLength: number, ship: number): number {
    const at = this.#room(RECORD_FRAME_BYTES + ship);
    const b = this.#buf;
    b[at] = kind;
    b[at + 1] = flags;
    writeU32(b, at + 2, conn);
    writeU32(b, at + 6, rid);
    b[at + 10] = 1;
    b[at + 11] = type;
    b[at + 12] = requestId >> 8;
    b[at + 13] = requestId & 0xff;
    b[at + 14] = contentLength >> 8;
    b[at + 15] = contentLength & 0xff;
    b[at + 16] = paddingLength;
    b[at + 17] = 0;
    writeU32(b, at + 18, ship);
    return at;
  }

  /**
   * #knownHead: a response's first STDOUT record when it starts with the last clean head
   * (wire-redact.ts: every response of a second behind the same app code): its frame, the head
   * copied and compared with the clean one in one loop, four bytes at a time through DataViews
   * (unaligned reads; the view of the connection's slab is kept while it writes into the same one);
   * returns the frame's position, or -1 with nothing written (another head: recordOut's general
   * path then finds its end and masks, as before; a TIME frame written first stays, as it would).
   * The same frame as that path makes: there Buffer#compare and Buffer#copy were a C++ call and a
   * TypedArray call with their argument checks, ~0.1 and ~0.2 µs of a hello request's ~1 µs in a
   * microbenchmark of its frames, a byte loop ~0.3 µs for both, this ~0.15 (bench/README "trace",
   * eighth session).
   */
  #bufView: { src: Buffer | null; view: DataView } = { src: null, view: new DataView(new ArrayBuffer(0)) };
  #knownHead(conn: number, rid: number, requestId: number, contentLength: number, paddingLength: number, src: Buffer, from: number): number {
    const n = cleanHeadLength();
    if (n <= 0 || n > contentLength || n > HEAD_LIMIT) return -1;
    const clean = cleanHead();
    const at = this.#frameHead(FrameKind.recordOut, FrameFlag.head, conn, rid, RecordType.Stdout, requestId, contentLength, paddingLength, n);
    const b = this.#buf;
    const to = at + RECORD_FRAME_BYTES;
    let sv = srcViews.get(src);
    if (sv === undefined) {
      sv = new DataView(src.buffer, src.byteOffset, src.length);
      srcViews.set(src, sv);
    }
    if (b !== this.#bufView.src) this.#bufView = { src: b, view: new DataView(b.buffer, b.byteOffset, b.length) };
    const bv = this.#bufView.view;
    let diff = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const c = sv.getInt32(from + i);
      bv.setInt32(to + i, c);
      diff |= c ^ CLEAN_VIEW.getInt32(i);
    }
    for (; i < n; i++) {
      const c = src[from + i]!;
      b[to + i] = c;
      diff |= c ^ clean[i]!;
    }
    if (diff === 0) return at;
    this.#used = at; // not the clean head: the frame is taken back (a TIME frame before it stays, as it would)
    return -1;
  }
}

/**
 * pairStarts: where each name-value pair of a PARAMS stream starts, into `out` (and the stream's
 * length after the last); returns how many pairs, or -1 if the stream is not well formed.
 */
function pairStarts(b: Buffer, out: number[]): number {
  const end = b.length;
  let i = 0;
  let k = 0;
  while (i < end) {
    out[k++] = i;
    i = pairEnd(b, i, end);
    if (i < 0) return -1;
  }
  out[k] = end;
  return k;
}

/** pairEnd: where the pair starting at `i` of a PARAMS stream ends, or -1 if it runs past `end`. */
function pairEnd(b: Uint8Array, i: number, end: number): number {
  let nameLen = b[i]!;
  if (nameLen > 127) {
    if (i + 4 > end) return -1;
    nameLen = ((nameLen & 0x7f) * 0x1000000) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
    i += 4;
  } else i += 1;
  if (i >= end) return -1;
  let valueLen = b[i]!;
  if (valueLen > 127) {
    if (i + 4 > end) return -1;
    valueLen = ((valueLen & 0x7f) * 0x1000000) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
    i += 4;
  } else i += 1;
  i += nameLen + valueLen;
  return i > end ? -1 : i;
}

/** paramsFrameHead: the head a PARAMS and a DELTA frame share (kind, flags, connection, rid, request id little-endian). */
function paramsFrameHead(b: Buffer, at: number, kind: number, masked: boolean, conn: number, rid: number, requestId: number): void {
  b[at] = kind;
  b[at + 1] = masked ? FrameFlag.masked : 0;
  writeU32(b, at + 2, conn);
  writeU32(b, at + 6, rid);
  b[at + 10] = requestId & 0xff;
  b[at + 11] = requestId >> 8;
}

function writeU32(b: Buffer, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

/**
 * inShip, inFlags: how much of a record's content goes, and as what, by type (not PARAMS: see
 * recordIn). Two numbers, not a [ship, flags] pair: the array was made for every record read.
 */
function inShip(type: number, length: number): number {
  switch (type) {
    case RecordType.BeginRequest:
    case RecordType.EndRequest:
    case RecordType.AbortRequest:
    case RecordType.GetValues:
    case RecordType.GetValuesResult:
    case RecordType.UnknownType:
      return Math.min(length, CONTROL_LIMIT);
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      return traceOptions.showSecrets ? Math.min(length, traceOptions.previewBytes + 1) : 0;
    case RecordType.Stderr:
      return Math.min(length, traceOptions.previewBytes + 1);
    default:
      return 0;
  }
}

function inFlags(type: number): number {
  switch (type) {
    case RecordType.Stdin:
    case RecordType.Stdout:
    case RecordType.Data:
      return traceOptions.showSecrets ? FrameFlag.preview : 0;
    case RecordType.Stderr:
      return FrameFlag.preview;
    default:
      return 0;
  }
}

/** pieceWant: how many bytes of a record in pieces its preview wants (the preview and one more, which says it goes on). */
function pieceWant(type: number): number {
  return inShip(type, traceOptions.previewBytes + 1);
}

/**
 * wireLineHead: a wire line up to its frames (`..."b64":"`); the line is that, the frames as base64
 * (take()) and WIRE_LINE_END, written one after the other (not joined: no copy of the frames' text).
 * `at`: '' or `,"at":[...]` (sink.ts wireMarks): the i-th line after this one came when the frames
 * were at[i] bytes long, so a reader shows it before the frames from there on (wire-format.ts).
 */
export function wireLineHead(b64Length: number, pid: number, mode: string, at = ''): string {
  return `{"level":20,"time":${Date.now()},"pid":${pid},"ev":"wire","mode":${JSON.stringify(mode)},"msg":"FastCGI traffic (${
    b64Length} base64 bytes; dualcgi tail decodes it)","v":${WIRE_VERSION},"preview":${traceOptions.previewBytes},"target":${wireTargetJson()}${at},"b64":"`;
}

export const WIRE_LINE_END = '"}\n';

/** wireLine: a batch's frames (take()) as its NDJSON line, with its newline. */
export function wireLine(b64: string, pid: number, mode: string): string {
  return `${wireLineHead(b64.length, pid, mode)}${b64}${WIRE_LINE_END}`;
}

let current: WireMirror | null = null;

/** MirrorHolder: what keeps the current mirror in a field of its own (a connection observer). */
export interface MirrorHolder {
  wire?: WireMirror | null;
}

/** holders: observers told of the mirror as it changes (a few a process: one per server). */
const holders = new Set<MirrorHolder>();

/** currentMirror: the mirror while a trace socket listens, else null (connections then publish events as before). */
export function currentMirror(): WireMirror | null {
  return current;
}

/**
 * watchMirror: `holder.wire` is the current mirror from now on (set now and on every setMirror), so
 * the hot path reads a field instead of calling for it; returns the holder.
 */
export function watchMirror<T extends MirrorHolder>(holder: T): T {
  holder.wire = current;
  holders.add(holder);
  return holder;
}

/** setMirror: the socket sink's mirror while its listener is connected, null otherwise. */
export function setMirror(mirror: WireMirror | null): void {
  current = mirror;
  for (const holder of holders) holder.wire = mirror;
}
