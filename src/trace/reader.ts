import type { TraceEvent } from './events';
import { expandGroup, ParamsBaseRef, type ParamsState } from './group-expand';
import { type GroupItem, HEADERS_LIST, PARAMS_LIST, scanGroup } from './group-scan';
import { WireDecoder } from './wire-decode';
import { type WireHead, wireHeadOf } from './wire-format';

const PARAMS_BYTES = Buffer.from(PARAMS_LIST);
const HEADERS_BYTES = Buffer.from(HEADERS_LIST);
const PARAMS_BASE = ',"paramsBase":';
const PARAMS_BASE_BYTES = Buffer.from(PARAMS_BASE);
const PARAMS_DELTA_BYTES = Buffer.from(',"paramsDelta":');
/** A wire line (wire-mirror.ts wireLine): `"ev":"wire"` near its start, its frames last, as `"b64":"..."}`. */
const WIRE_EV_BYTES = Buffer.from('"ev":"wire"');
const B64_BYTES = Buffer.from(',"b64":"');
/** WIRE_EV_WITHIN: how far into a line `"ev":"wire"` is looked for (level, time and pid come before it). */
const WIRE_EV_WITHIN = 80;

/** ReadItem: a parsed event, or a line that was not a trace event (shown as text, never trusted). */
export type ReadItem =
  | { kind: 'event'; event: TraceEvent & Record<string, unknown>; line?: string; built?: true }
  | { kind: 'text'; text: string };

/**
 * stripUnsafe: remove terminal control characters (ESC sequences, C0/C1 controls except tab) so a
 * hostile producer cannot move the cursor, retitle the window or hide lines (pino-pretty's
 * strip-unsafe-control-chars does the same for its output).
 */
export function stripUnsafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/**
 * HeldFrames: the rest of a wire line whose head placed the lines after it among its frames (`at`,
 * wire-format.ts): decoded a piece at a time, each once the line that comes before it was read.
 */
interface HeldFrames {
  head: WireHead;
  frames: Buffer;
  marks: number[];
  /** next: the mark the next line read stands at; the frames from there go after it. */
  next: number;
}

/** NdjsonReaderOptions: bounds. */
export interface NdjsonReaderOptions {
  /** maxLineBytes: a longer line is cut there and shown as text. Default 1 MiB. */
  maxLineBytes?: number;
  /**
   * summaries: hand on a grouped request line the scan can read as one `group` item (its summary
   * and the line; group-scan.ts) instead of the events it stands for. The dashboard's reader.
   */
  summaries?: boolean;
}

/**
 * NdjsonReader: bytes -> lines -> items. Never throws on input: non-JSON lines, JSON that is not an
 * event object, and over-long lines all come out as text items.
 *
 * Lines are split on the bytes ('\n' is never part of a UTF-8 sequence, so a character split
 * across chunks is whole in its line) and each line is decoded on its own: decoding a whole socket
 * read and then cutting it into lines copied every byte twice more (the read's text, and the text
 * joined to the last read's unfinished line), and a grouped line kept by the dashboard was encoded
 * back into bytes. Here a scanned group hands on its bytes to be copied as they are. What it buys:
 * the dashboard's CPU per traced hello request (bench/ trace suite `listener µs/req`; bench/README
 * "Fourth round").
 */
export class NdjsonReader<Item = ReadItem> {
  /** #pending: the unfinished line's bytes (copies), from earlier chunks. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #skipping = false;
  #maxLine: number;
  #onItem: (item: ReadItem) => void;
  #onGroup: ((item: GroupItem) => void) | undefined;
  /** #params: this connection's params base (request-group.ts paramsText): one reader per connection. */
  #params: ParamsState = { base: undefined };
  /** #wire: this connection's wire frames decoder (wire-decode.ts), made with its first wire line. */
  #wire: WireDecoder | undefined = undefined;
  #summaries: boolean;
  /** #held: frames of the last wire line that go after lines still to come (`at`); never with summaries. */
  #held: HeldFrames | undefined = undefined;

  /** Item: ReadItem, or ReadItem | GroupItem with `summaries`. */
  constructor(onItem: (item: Item) => void, options: NdjsonReaderOptions = {}) {
    this.#onItem = onItem as (item: ReadItem) => void;
    this.#onGroup = options.summaries === true ? onItem as (item: GroupItem) => void : undefined;
    this.#maxLine = options.maxLineBytes ?? 1024 * 1024;
    this.#summaries = options.summaries === true;
  }

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    let nl = buf.indexOf(10);
    while (nl !== -1) {
      if (this.#pendingBytes > 0) {
        // A line begun in an earlier chunk (never while skipping: nothing is kept then).
        const parts = this.#pending;
        parts.push(buf.subarray(0, nl));
        const total = this.#pendingBytes + nl;
        this.#pending = [];
        this.#pendingBytes = 0;
        const line = Buffer.concat(parts, total);
        if (total > this.#maxLine) this.#cut(cutLine(line, this.#maxLine));
        else this.#line(line, 0, total);
      } else if (this.#skipping) this.#skipping = false;
      else if (nl - start > this.#maxLine) this.#cut(cutLine(buf.subarray(start, nl), this.#maxLine));
      else this.#line(buf, start, nl);
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    if (start >= buf.length || this.#skipping) return;
    const rest = this.#pendingBytes + buf.length - start;
    if (rest > this.#maxLine) {
      this.#pending.push(buf.subarray(start));
      this.#cut(cutLine(Buffer.concat(this.#pending), this.#maxLine));
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#skipping = true;
      return;
    }
    // A copy: the caller may reuse its buffer, and a kept slice would keep the whole read alive.
    this.#pending.push(Buffer.from(buf.subarray(start)));
    this.#pendingBytes = rest;
  }

  /** end: a last line without its newline, and frames held for lines that never came. */
  end(): void {
    if (this.#pendingBytes > 0 && !this.#skipping) {
      const line = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#line(line, 0, line.length);
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#releaseHeld();
  }

  /** #cut: an over-long line, cut, as a text item (a line all the same: held frames move on). */
  #cut(item: ReadItem): void {
    const held = this.#held;
    this.#onItem(item);
    if (held !== undefined) this.#step(held);
  }

  /**
   * #line: the line in `buf` from `start` to `end` (its newline excluded); then the held frames
   * that came after it (#held: a wire line with `at`).
   */
  #line(buf: Buffer, start: number, end: number): void {
    const held = this.#held;
    this.#read(buf, start, end);
    // Not when the line was a wire line itself: that released the held frames first.
    if (held !== undefined && held === this.#held) this.#step(held);
  }

  /** #step: a line was read: the held frames up to the next one's mark (all that is left after the last). */
  #step(held: HeldFrames): void {
    const length = held.frames.length;
    const from = Math.min(held.marks[held.next]!, length);
    held.next++;
    const to = held.next < held.marks.length ? Math.min(held.marks[held.next]!, length) : length;
    if (held.next >= held.marks.length) this.#held = undefined;
    if (to > from) this.#wire!.decode(held.head, held.frames.subarray(from, to), this.#onItem as (item: ReadItem | GroupItem) => void);
  }

  /** #releaseHeld: every held frame now (a new wire line, or the end of the connection). */
  #releaseHeld(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    const from = Math.min(held.marks[held.next]!, held.frames.length);
    if (from < held.frames.length) this.#wire!.decode(held.head, held.frames.subarray(from), this.#onItem as (item: ReadItem | GroupItem) => void);
  }

  /** #read: one line's items. */
  #read(buf: Buffer, start: number, end: number): void {
    if (buf[start] === 0x7b && this.#wireLine(buf, start, end)) return;
    // A grouped line (`{...}`, nothing to trim) is summarised from its start alone, decoded up to
    // where its params (or, without a start, its headers) begin: about half of a hello request's
    // line, and the half the summary needs (group-scan.ts). `,"params` cannot occur inside a
    // JSON string (its quote would be escaped), so the first one found is where the list begins.
    if (this.#onGroup !== undefined && buf[start] === 0x7b && buf[end - 1] === 0x7d) {
      let cut = buf.indexOf(PARAMS_BYTES, start);
      let list: typeof PARAMS_LIST | typeof HEADERS_LIST = PARAMS_LIST;
      if (cut === -1 || cut >= end) {
        cut = buf.indexOf(HEADERS_BYTES, start);
        list = HEADERS_LIST;
      }
      const group = cut !== -1 && cut < end ? scanGroup(buf.toString('utf8', start, cut), list) : undefined;
      if (group !== undefined && (list === HEADERS_LIST || this.#takeBase(buf, cut, end))) {
        this.#onGroup({ kind: 'group', group, bytes: buf.subarray(start, end), paramsBase: this.#params.base });
        return;
      }
    }
    const line = buf.toString('utf8', start, end);
    const trimmed = line.trim();
    if (trimmed === '') return;
    // A line bringing a params base is read in full here (expandGroup keeps its base), not summarised.
    if (this.#onGroup !== undefined && !trimmed.includes(PARAMS_BASE)) {
      const group = scanGroup(trimmed);
      if (group !== undefined) {
        // The bytes as they came when the line needed no trimming; else the trimmed text's.
        const bytes = trimmed.length === line.length ? buf.subarray(start, end) : Buffer.from(trimmed, 'utf8');
        this.#onGroup({ kind: 'group', group, bytes, paramsBase: this.#params.base });
        return;
      }
    }
    readLine(trimmed, this.#onItem, this.#params);
  }

  /**
   * #wireLine: a wire line's frames decoded into the events they stand for (wire-decode.ts); false
   * when the line is not one (then read as any other). Its head is parsed on its own and the
   * base64 decoded from the bytes: the frames are never a JS string of their own but once.
   */
  #wireLine(buf: Buffer, start: number, end: number): boolean {
    const ev = buf.subarray(start, Math.min(end, start + WIRE_EV_WITHIN)).indexOf(WIRE_EV_BYTES);
    if (ev === -1) return false;
    const b64 = buf.indexOf(B64_BYTES, start + ev);
    if (b64 === -1 || b64 >= end || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) return false;
    let head;
    try {
      const parsed: unknown = JSON.parse(`${buf.toString('utf8', start, b64)}}`);
      head = typeof parsed === 'object' && parsed !== null ? wireHeadOf(parsed as Record<string, unknown>) : undefined;
    } catch {
      head = undefined;
    }
    if (head === undefined) return false;
    const frames = Buffer.from(buf.toString('latin1', b64 + B64_BYTES.length, end - 2), 'base64');
    const onItem = (this.#onGroup ?? this.#onItem) as (item: ReadItem | GroupItem) => void;
    const decoder = this.#wire ??= new WireDecoder({ summaries: this.#summaries });
    this.#releaseHeld();
    // `at`: the lines after this one came among its frames; each goes before the frames that
    // followed it (a log line before its request's end). Cut there, the frames decode as the lines
    // a sink cutting at each log would have sent. The dashboard (summaries) files logs under their
    // request, and keeps a request within one line whole: it reads the line at once.
    const at = head.at;
    if (at === undefined || this.#summaries) {
      decoder.decode(head, frames, onItem);
      return true;
    }
    const first = Math.min(at[0]!, frames.length);
    if (first > 0) decoder.decode(head, frames.subarray(0, first), onItem);
    this.#held = { head, frames, marks: at, next: 0 };
    return true;
  }

  /**
   * #takeBase: at `cut` (where a summarised line's params begin), a `"paramsBase"` list becomes this
   * connection's base, kept as its text (read when a request is opened); false when such a line has
   * no delta after it (not ours: read in full instead).
   */
  #takeBase(buf: Buffer, cut: number, end: number): boolean {
    if (buf.compare(PARAMS_BASE_BYTES, 0, PARAMS_BASE_BYTES.length, cut, cut + PARAMS_BASE_BYTES.length) !== 0) return true;
    const from = cut + PARAMS_BASE_BYTES.length;
    const to = buf.indexOf(PARAMS_DELTA_BYTES, from);
    if (to === -1 || to >= end) return false;
    this.#params.base = ParamsBaseRef.ofText(buf.toString('utf8', from, to));
    return true;
  }
}

/**
 * readLine: one line (trimmed, not empty) to its items: a grouped line (request-group.ts) to the
 * events it stands for, any other line to one item. `params`: the params base of the line's
 * connection (group-expand.ts ParamsState), for a line whose params are a delta.
 */
export function readLine(line: string, onItem: (item: ReadItem) => void, params?: ParamsState): void {
  const item = parseLine(line);
  const group = item.kind === 'event' && (item.event.ev as string) === 'request' ? expandGroup(item.event, params) : undefined;
  if (group === undefined) onItem(item);
  else for (const expanded of group) onItem(expanded);
}

function cutLine(bytes: Buffer, max: number): ReadItem {
  return { kind: 'text', text: `${stripUnsafe(bytes.toString('utf8', 0, Math.min(bytes.length, 200)))}… [line over ${max} bytes cut]` };
}

/** parseLine: one NDJSON line to an item. */
export function parseLine(line: string): ReadItem {
  if (line.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const event = value as TraceEvent & Record<string, unknown>;
        // `line`: the text it came from, for consumers that pass valid lines on as they are (tail
        // --json). `built` (expanded events, group-expand.ts): the line is one dualcgi wrote itself.
        if (typeof event.ev === 'string') return { kind: 'event', event, line };
        // A pino line without `ev` (an app logging straight to the socket): an app log.
        return { kind: 'event', event: { ...(value as Record<string, unknown>), ev: 'app.log', stream: 'log' } as unknown as TraceEvent & Record<string, unknown> };
      }
    } catch {
      // not JSON: fall through to text
    }
  }
  return { kind: 'text', text: stripUnsafe(line) };
}
