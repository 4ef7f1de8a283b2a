import { errorForPretty, type PrettyFn } from '../format/pretty';
import type { LogEntry } from '../store/requests';
import type { Ring } from '../store/ring';
import { fit, plain } from '../text';
import { levelStyle, paint, titleBar, type Style } from './theme';

/**
 * LogFormatter: a log entry to one line, memoized per entry: pino-pretty is the costliest step of
 * a frame, and a log line never changes once received.
 */
export class LogFormatter {
  #cache = new WeakMap<LogEntry, string>();
  #pretty: PrettyFn;

  constructor(pretty: PrettyFn) {
    this.#pretty = pretty;
  }

  format(entry: LogEntry): string {
    let line = this.#cache.get(entry);
    if (line === undefined) {
      line = plain(this.#build(entry));
      this.#cache.set(entry, line);
    }
    return line;
  }

  #build(entry: LogEntry): string {
    switch (entry.kind) {
      case 'text': return `(not a trace event) ${String(entry.event['msg'])}`;
      case 'error': return this.#pretty(errorForPretty(entry.event, false));
      default: return this.#pretty(entry.event).split('\n')[0] ?? '';
    }
  }
}

function styleOf(entry: LogEntry): Style {
  if (entry.kind === 'text') return 'dim';
  if (entry.kind === 'process') return 'info';
  return levelStyle(entry.level);
}

/** renderLog: the newest lines that fit, `offset` lines up from the end. */
export function renderLog(logs: Ring<LogEntry>, formatter: LogFormatter, view: { width: number; height: number; offset: number; focused: boolean }): string[] {
  const body = Math.max(0, view.height - 1);
  const offset = Math.max(0, Math.min(view.offset, logs.size - body));
  const right = offset > 0 ? `${offset} lines up (End: follow) ` : `${logs.size} lines `;
  const out = [titleBar(' App log (all processes)', right, view.width, view.focused)];
  const end = logs.size - offset;
  for (let i = Math.max(0, end - body); i < end; i++) {
    const entry = logs.at(i)!;
    out.push(paint(fit(` ${formatter.format(entry)}`, view.width), styleOf(entry)));
  }
  return out;
}
