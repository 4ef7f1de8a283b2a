import { StringDecoder } from 'node:string_decoder';
import type { TraceEvent } from './events';
import { expandGroup } from './group-expand';
import { type GroupItem, scanGroup } from './group-scan';

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
 */
export class NdjsonReader<Item = ReadItem> {
  // A UTF-8 character may be split across socket chunks: decode statefully.
  #decoder = new StringDecoder('utf8');
  #pending = '';
  #skipping = false;
  #maxLine: number;
  #onItem: (item: ReadItem) => void;
  #onGroup: ((item: GroupItem) => void) | undefined;

  /** Item: ReadItem, or ReadItem | GroupItem with `summaries`. */
  constructor(onItem: (item: Item) => void, options: NdjsonReaderOptions = {}) {
    this.#onItem = onItem as (item: ReadItem) => void;
    this.#onGroup = options.summaries === true ? onItem as (item: GroupItem) => void : undefined;
    this.#maxLine = options.maxLineBytes ?? 1024 * 1024;
  }

  push(chunk: Buffer | string): void {
    let text = this.#pending + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    // Scan by index: a chunk holds hundreds of lines now that producers batch their writes.
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      const line = text.slice(start, nl);
      start = nl + 1;
      if (this.#skipping) this.#skipping = false;
      else if (line.length > this.#maxLine) this.#onItem(cutLine(line, this.#maxLine));
      else this.#line(line);
      nl = text.indexOf('\n', start);
    }
    text = start === 0 ? text : text.slice(start);
    if (text.length > this.#maxLine) {
      if (!this.#skipping) this.#onItem(cutLine(text, this.#maxLine));
      this.#skipping = true;
      text = '';
    }
    this.#pending = text;
  }

  /** end: a last line without its newline. */
  end(): void {
    this.#pending += this.#decoder.end();
    if (this.#pending && !this.#skipping) this.#line(this.#pending);
    this.#pending = '';
  }

  #line(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    if (this.#onGroup !== undefined) {
      const group = scanGroup(trimmed);
      if (group !== undefined) {
        this.#onGroup({ kind: 'group', group, line: trimmed });
        return;
      }
    }
    readLine(trimmed, this.#onItem);
  }
}

/**
 * readLine: one line (trimmed, not empty) to its items: a grouped line (request-group.ts) to the
 * events it stands for, any other line to one item.
 */
export function readLine(line: string, onItem: (item: ReadItem) => void): void {
  const item = parseLine(line);
  const group = item.kind === 'event' && (item.event.ev as string) === 'request' ? expandGroup(item.event) : undefined;
  if (group === undefined) onItem(item);
  else for (const expanded of group) onItem(expanded);
}

function cutLine(text: string, max: number): ReadItem {
  return { kind: 'text', text: `${stripUnsafe(text.slice(0, 200))}… [line over ${max} bytes cut]` };
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
