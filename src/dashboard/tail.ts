import type { ReadItem } from '../trace/reader';
import { stripUnsafe } from '../trace/reader';
import { describeConn, describeProcessEvent, describeRecord, describeRequestEnd, describeRequestStart } from './format/describe';
import { createPretty, errorForPretty, type PrettyFn } from './format/pretty';
import { num } from './store/fields';

/** TailOptions: what `dualcgi tail` prints. */
export interface TailOptions {
  /** verbose: also records, connections and request starts, one compact line each. */
  verbose: boolean;
  /** colorize: pino-pretty's colors (only on a terminal). */
  colorize: boolean;
}

/** TailFormatter: an item to the text to print (lines end with a newline), or null to skip it. */
export type TailFormatter = (item: ReadItem) => string | null;

/**
 * sanitize: every string in an event stripped of terminal controls, before pino-pretty adds its
 * own colors (stripping afterwards would remove those too). Depth-bounded: events come from JSON.
 */
export function sanitize(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return stripUnsafe(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[stripUnsafe(k)] = sanitize(v, depth + 1);
  return out;
}

/**
 * line: a synthetic pino object for a summary, at the event's time; the pid only when asked (request
 * summaries and records name it in their text already).
 */
function line(pretty: PrettyFn, ev: Record<string, unknown>, level: number, msg: string, withPid = false): string {
  const pid = withPid ? { pid: num(ev['pid']) } : {};
  return `${pretty({ level, time: num(ev['time'], Date.now()), ...pid, msg: stripUnsafe(msg) })}\n`;
}

function statusLevel(ev: Record<string, unknown>): number {
  const status = num(ev['status']);
  if (status >= 500 || ev['aborted'] === true) return 50;
  return status >= 400 ? 40 : 30;
}

/**
 * createTailFormatter: request summaries (`GET /foo 200 12ms 1.2kB pid 123 fcgi`), process
 * start/exit, app logs and errors with their stacks; with verbose, records and connections too.
 * Lines that are not trace events pass through, stripped (pino-pretty does the same).
 */
export function createTailFormatter(options: TailOptions): TailFormatter {
  const pretty = createPretty({ colorize: options.colorize });
  const verbose = options.verbose;
  return (item) => {
    if (item.kind === 'text') return `${item.text}\n`;
    // Summaries are built from the raw event (previews show \r\n as escapes) and stripped after;
    // events printed whole are stripped before, so pino-pretty's colors survive.
    const ev = item.event as unknown as Record<string, unknown>;
    switch (ev['ev']) {
      case 'request.end': return line(pretty, ev, statusLevel(ev), describeRequestEnd(ev));
      case 'request.start': return verbose ? line(pretty, ev, 20, describeRequestStart(ev)) : null;
      case 'record': return verbose ? line(pretty, ev, 20, describeRecord(ev)) : null;
      case 'conn.open': case 'conn.close': return verbose ? line(pretty, ev, 20, describeConn(ev), true) : null;
      case 'process.start': case 'process.exit': return line(pretty, ev, num(ev['level'], 30), describeProcessEvent(ev), true);
      case 'error': return `${pretty(sanitize(errorForPretty(ev, true)) as Record<string, unknown>)}\n`;
      case 'app.log': return `${pretty(sanitize(ev) as Record<string, unknown>)}\n`;
      default: return verbose ? `${pretty(sanitize(ev) as Record<string, unknown>)}\n` : null;
    }
  };
}
