import { STATUS_CODES } from 'node:http';
import { isStreamType, recordContent, recordHead } from '../format/describe';
import { errorForPretty, type PrettyFn } from '../format/pretty';
import type { LogEntry, RecordEntry, RequestEntry } from '../store/requests';
import { fit, formatBytes, formatDuration, plain } from '../text';
import { paint, statusStyle, titleBar, type Style } from './theme';
import { isSecretHeaderName, isSecretParamName } from '../../trace/redact';

/** DetailLine: one line of the detail pane; lines with a record open it on Enter. */
export interface DetailLine {
  /** text: plain (possibly untrusted) text; painting makes it safe. */
  text: string;
  style: Style;
  /** keyWidth: the first keyWidth characters are a table key, drawn bold. */
  keyWidth?: number;
  record?: RecordEntry;
}

/** DetailContext: how to build the lines. */
export interface DetailContext {
  showSecrets: boolean;
  /** pretty: pino-pretty for the request's log lines (pid and rid left out: the pane says them). */
  pretty: PrettyFn;
}

const hidden = '[hidden; --show-secrets shows it]';

/**
 * isSecret: a param or header whose value the dashboard hides by default: the ones producers
 * redact (trace/redact.ts: PHP_AUTH_PW and REMOTE_PASSWD too, which a list of its own here left
 * out), for producers that were asked to send them (DUALCGI_SHOW_SECRETS=1).
 */
export function isSecret(name: string): boolean {
  return isSecretParamName(name.toUpperCase()) || isSecretHeaderName(name.toLowerCase());
}

function heading(text: string): DetailLine {
  return { text: `▸ ${text}`, style: 'heading' };
}

/** summaryLines: the outcome, then where it ran (the title bar already has the method and URI). */
function summaryLines(e: RequestEntry): DetailLine[] {
  const status = e.status !== undefined ? `${e.status} ${STATUS_CODES[e.status] ?? ''}`.trim() : e.done ? 'no status' : 'in progress';
  const numbers = e.done ? `  ${formatDuration(e.durationMs)}  in ${formatBytes(e.bytesIn)}  out ${formatBytes(e.bytesOut)}` : '';
  const lines: DetailLine[] = [
    { text: `${status}${e.aborted ? ' (aborted)' : ''}${numbers}`, style: statusStyle(e.status) },
    {
      text: `pid ${e.pid} ${e.mode || '?'}  rid ${e.rid}${e.mode === 'fcgi' ? `  requestId ${e.requestId}` : ''}`
        + `${e.role ? `  ${e.role}` : ''}${e.appStatus !== undefined ? `  appStatus ${e.appStatus}` : ''}`,
      style: 'dim',
    },
  ];
  if (e.mountPoint || (e.url && e.url !== e.uri)) lines.push({ text: `app sees ${e.url || '?'} (mount point "${e.mountPoint}")`, style: 'dim' });
  return lines;
}

/** Stack lines shown under an error before the records; the rest is at the end of the pane. */
const stackLinesFirst = 4;

/** errorText: an error event as pino-pretty prints it: the message line, then the stack. */
function errorText(err: LogEntry, ctx: DetailContext): string[] {
  return ctx.pretty(errorForPretty(err.event, true)).split('\n');
}

/**
 * errorLines: each error with the top of its stack. A full stack (a dozen frames of framework) would
 * push the record timeline out of an 80x24 pane; the whole stack follows at the end.
 */
function errorLines(e: RequestEntry, ctx: DetailContext): DetailLine[] {
  if (e.errors.length === 0) return [];
  const lines = [heading(`error${e.errors.length > 1 ? `s (${e.errors.length})` : ''}`)];
  for (const err of e.errors) {
    const text = errorText(err, ctx);
    const shown = text.slice(0, 1 + stackLinesFirst);
    for (const t of shown) lines.push({ text: t, style: 'error' });
    if (text.length > shown.length) lines.push({ text: `    … ${text.length - shown.length} more lines: the whole stack is at the end`, style: 'dim' });
  }
  return lines;
}

/** fullStackLines: the whole stacks, when errorLines had to cut them. */
function fullStackLines(e: RequestEntry, ctx: DetailContext): DetailLine[] {
  const long = e.errors.map((err) => errorText(err, ctx)).filter((t) => t.length > 1 + stackLinesFirst);
  if (long.length === 0) return [];
  return [heading('error stack'), ...long.flat().map((text): DetailLine => ({ text, style: 'error' }))];
}

/** relative: a record's time since the request's first record. */
function relative(time: number, base: number): string {
  return `+${Math.max(0, time - base)}ms`.padStart(7);
}

function recordLines(e: RequestEntry): DetailLine[] {
  if (e.records.length === 0) {
    // unreadable: known only once the records were asked for (RequestEntry reads its line then).
    const why = e.unreadable ? 'not shown: its trace line is not well formed'
      : e.mode === 'cgi' ? 'none: CGI passes the request as environment and stdin' : 'none received';
    return [heading(`records: ${why}`)];
  }
  const omitted = e.recordsOmitted > 0 ? `, ${e.recordsOmitted} stream records not kept` : '';
  const hint = e.records.some((r) => r.preview !== undefined) ? ' — Enter on STDIN/STDOUT shows the bytes' : '';
  const lines = [heading(`records (${e.records.length}${omitted})${hint}`)];
  const base = e.records[0]!.time;
  for (const record of e.records) {
    const content = recordContent(record);
    const line: DetailLine = {
      text: `${relative(record.time, base)} ${recordHead(record)}${content ? `  ${content}` : ''}`,
      style: record.dir === 'in' ? 'in' : 'out',
    };
    if (isStreamType(record.type) && (record.preview !== undefined || record.redacted)) line.record = record;
    lines.push(line);
  }
  return lines;
}

function responseLines(e: RequestEntry, ctx: DetailContext): DetailLine[] {
  if (!e.done) return [];
  const lines = [heading('response head')];
  if (e.status !== undefined) lines.push({ text: `Status: ${e.status} ${STATUS_CODES[e.status] ?? ''}`.trimEnd(), style: 'normal', keyWidth: 7 });
  for (const [name, value] of e.headers) {
    lines.push({ text: `${name}: ${isSecret(name) && !ctx.showSecrets ? hidden : value}`, style: 'normal', keyWidth: name.length + 1 });
  }
  return lines;
}

function logLines(e: RequestEntry, ctx: DetailContext): DetailLine[] {
  if (e.logs.length === 0) return [];
  const more = e.logsOmitted > 0 ? `, ${e.logsOmitted} more not kept` : '';
  const lines = [heading(`app log (${e.logs.length}${more})`)];
  for (const log of e.logs) {
    for (const text of ctx.pretty(log.event).split('\n')) lines.push({ text, style: log.level >= 50 ? 'error' : log.level >= 40 ? 'warn' : 'normal' });
  }
  return lines;
}

function paramLines(e: RequestEntry, ctx: DetailContext): DetailLine[] {
  if (e.params.length === 0) return [];
  const lines = [heading(`CGI meta-variables (${e.params.length})`)];
  const keyWidth = Math.min(24, Math.max(...e.params.map(([n]) => n.length)));
  for (const [name, value] of e.params) {
    const shown = isSecret(name) && !ctx.showSecrets ? hidden : value;
    lines.push({ text: `${fit(name, keyWidth)}  ${shown}`, style: 'normal', keyWidth });
  }
  return lines;
}

/**
 * buildDetail: the selected request as lines: summary, errors with the top of their stacks, the
 * record timeline, the response head, the request's app log, its CGI meta-variables, and whole
 * stacks. Most useful first: in 80x24 only the top fits without scrolling.
 */
export function buildDetail(entry: RequestEntry, ctx: DetailContext): DetailLine[] {
  return [
    ...summaryLines(entry), ...errorLines(entry, ctx), ...recordLines(entry),
    ...responseLines(entry, ctx), ...logLines(entry, ctx), ...paramLines(entry, ctx), ...fullStackLines(entry, ctx),
  ];
}

/** paintDetailLine: one line, fitted to the width; `cursor` draws the highlight bar. */
export function paintDetailLine(line: DetailLine, width: number, cursor: boolean): string {
  const text = fit(plain(` ${line.text}`), width);
  if (cursor) return paint(text, 'selected');
  if (line.keyWidth !== undefined && line.keyWidth > 0) {
    const k = line.keyWidth + 1;
    return paint(text.slice(0, k), 'bold') + paint(text.slice(k), line.style);
  }
  return paint(text, line.style);
}

/** renderDetail: the pane (title included), scrolled so the cursor line is visible. */
export function renderDetail(entry: RequestEntry | undefined, lines: DetailLine[], view: { width: number; height: number; cursor: number; focused: boolean }): { lines: string[]; cursor: number } {
  const title = entry ? ` ${entry.method || '?'} ${entry.uri || '(no request.start yet)'}` : ' Request';
  const right = entry ? ` ${entry.rid} ` : '';
  const out = [titleBar(title, right, view.width, view.focused)];
  const body = view.height - 1;
  if (!entry) return { lines: [...out, paint(' select a request (arrows, j/k) to see its records, logs and meta-variables', 'dim')], cursor: 0 };
  const cursor = Math.max(0, Math.min(lines.length - 1, view.cursor));
  const start = Math.max(0, Math.min(cursor - Math.floor(body / 2), lines.length - body));
  for (let i = start; i < Math.min(lines.length, start + body); i++) {
    out.push(paintDetailLine(lines[i]!, view.width, view.focused && i === cursor));
  }
  return { lines: out, cursor };
}
