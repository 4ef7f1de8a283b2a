import { num, str } from '../store/fields';
import { recordEntry, type RecordEntry } from '../store/requests';
import { cut, formatBytes, formatDuration } from '../text';

/**
 * One-line descriptions of events, shared by the dashboard (timeline, log pane) and `tail`. Plain
 * text with control characters made visible or removed; callers add blessed escaping or color.
 */

/** visible: control characters shown as escapes (\r \n \t \xNN), so a preview stays one line. */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** isStreamType: records whose content is body bytes (a preview, Enter shows it). */
export function isStreamType(type: string): boolean {
  return type === 'STDIN' || type === 'STDOUT' || type === 'STDERR' || type === 'DATA';
}

/** recordContent: the decoded content of a record, after its header fields. */
export function recordContent(record: RecordEntry, maxPreview = 60): string {
  const parts: string[] = [];
  if (record.role !== undefined) parts.push(record.role);
  if (record.keepConn) parts.push('KEEP_CONN');
  else if (record.flags !== undefined && record.type === 'BEGIN_REQUEST') parts.push(`flags=${record.flags}`);
  if (record.params) {
    parts.push(record.params.length === 0 && record.contentLength === 0 ? '(end of params)' : `${record.params.length} pairs`);
  } else if (record.pairs !== undefined) {
    parts.push(`${record.pairs} pairs`);
  }
  if (record.appStatus !== undefined) parts.push(`appStatus=${record.appStatus}`);
  if (record.protocolStatus !== undefined) parts.push(record.protocolStatus);
  if (record.values) parts.push(record.values.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(' '));
  if (record.unknownType !== undefined) parts.push(`type=${record.unknownType}`);
  if (isStreamType(record.type)) {
    if (record.contentLength === 0) parts.push('(end of stream)');
    else if (record.redacted) parts.push('[redacted]');
    else if (record.preview !== undefined) parts.push(`"${cut(visible(record.preview), maxPreview)}"`);
  } else if (record.type === 'PARAMS' && !record.params && record.contentLength === 0) {
    parts.push('(end of params)');
  }
  return parts.join(' ');
}

/** recordHead: direction, type, id and lengths, in fixed columns. */
export function recordHead(record: RecordEntry): string {
  const arrow = record.dir === 'in' ? '→ in ' : '← out';
  return `${arrow} ${record.type.padEnd(17)} id=${record.requestId} len=${record.contentLength} pad=${record.paddingLength}`;
}

/** describeRecord: a record event as one compact line (tail -v, stray records in the log). */
export function describeRecord(ev: Record<string, unknown>): string {
  const record = recordEntry(ev);
  const content = recordContent(record);
  const rid = typeof ev['rid'] === 'string' ? ` rid=${str(ev['rid'], '', 100)}` : '';
  return `${recordHead(record)}${content ? ` ${content}` : ''}${rid}`;
}

/** describeRequestEnd: `GET /foo 200 12ms 1.2kB pid 123 fcgi` (the `tail` summary line). */
export function describeRequestEnd(ev: Record<string, unknown>): string {
  const method = str(ev['method'], '?', 20);
  const uri = str(ev['uri'], '?', 500);
  const status = typeof ev['status'] === 'number' ? String(ev['status']) : '-';
  const duration = formatDuration(typeof ev['durationMs'] === 'number' ? ev['durationMs'] : undefined);
  const bytes = formatBytes(num(ev['bytesOut']));
  const mode = str(ev['mode'], '', 10);
  const aborted = ev['aborted'] === true ? ' aborted' : '';
  return `${method} ${uri} ${status} ${duration} ${bytes} pid ${num(ev['pid'])}${mode ? ` ${mode}` : ''}${aborted}`;
}

/** describeRequestStart: `→ GET /foo pid 123 fcgi` (tail -v). */
export function describeRequestStart(ev: Record<string, unknown>): string {
  const mode = str(ev['mode'], '', 10);
  return `→ ${str(ev['method'], '?', 20)} ${str(ev['uri'], '?', 500)} pid ${num(ev['pid'])}${mode ? ` ${mode}` : ''} rid=${str(ev['rid'], '', 100)}`;
}

/** describeProcessEvent: process.start / process.exit as one line. */
export function describeProcessEvent(ev: Record<string, unknown>): string {
  if (ev['ev'] === 'process.exit') {
    return `process exit: ${str(ev['reason'], 'unknown', 200)}${typeof ev['code'] === 'number' ? ` (code ${ev['code']})` : ''}`;
  }
  const parts = [`process start ${str(ev['mode'], '?', 10)}: ${str(ev['reason'], 'no reason given', 300)}`];
  if (typeof ev['app'] === 'string') parts.push(`app ${str(ev['app'], '', 300)}`);
  if (typeof ev['version'] === 'string') parts.push(`version ${str(ev['version'], '', 60)}`);
  if (typeof ev['user'] === 'string') parts.push(`user ${str(ev['user'], '', 60)}`);
  return parts.join(', ');
}

/** describeConn: conn.open / conn.close (tail -v). */
export function describeConn(ev: Record<string, unknown>): string {
  const what = ev['ev'] === 'conn.open' ? 'connection open' : 'connection close';
  const peer = typeof ev['peer'] === 'string' ? ` from ${str(ev['peer'], '', 200)}` : '';
  const error = typeof ev['error'] === 'string' ? `: ${str(ev['error'], '', 300)}` : '';
  return `${what} #${num(ev['conn'])}${peer}${error}`;
}
