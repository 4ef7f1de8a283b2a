import type { ListModel } from '../store/list';
import type { RequestEntry } from '../store/requests';
import { fit, fitRight, formatBytes, formatClock, formatDuration } from '../text';
import { paint, statusStyle, titleBar, type Style } from './theme';

/** Column widths of the request list; the path takes what is left. */
const columns = { time: 8, pid: 7, mode: 4, method: 7, flag: 1, status: 3, duration: 7, bytes: 6 } as const;
const fixedWidth = 1 + columns.time + 1 + columns.pid + 1 + columns.mode + 1 + columns.method + columns.flag + 1
  + 1 + columns.status + 1 + columns.duration + 1 + columns.bytes;

/** pathWidth: the path column at a pane width (at least 8). */
export function pathWidth(width: number): number {
  return Math.max(8, width - fixedWidth);
}

/** listTitle: the pane's title bar doubles as the column header. */
export function listTitle(width: number, focused: boolean): string {
  const head = ` ${fit('TIME', columns.time)} ${fitRight('PID', columns.pid)} ${fit('MODE', columns.mode)} ${fit('METHOD', columns.method)}${' '.repeat(columns.flag)} `
    + `${fit('PATH', pathWidth(width))} ${fitRight('ST', columns.status)} ${fitRight('TIME', columns.duration)} ${fitRight('BYTES', columns.bytes)}`;
  return titleBar(head, '', width, focused);
}

/** flagOf: one character that says something went wrong: `!` error, `×` aborted, `…` still open. */
function flagOf(entry: RequestEntry): [string, Style] {
  if (entry.errors.length > 0) return ['!', 'error'];
  if (entry.aborted) return ['×', 'warn'];
  if (!entry.done) return ['…', 'dim'];
  return [' ', 'normal'];
}

/** rowCells: the plain text of each cell, fitted. */
function rowCells(entry: RequestEntry, width: number): Array<[string, Style]> {
  const path = entry.uri || `(request ${entry.rid})`;
  const status = entry.status !== undefined ? String(entry.status) : entry.done ? '-' : '…';
  const mode: Style = entry.mode === 'cgi' ? 'cgi' : 'fcgi';
  return [
    [` ${fit(formatClock(entry.startTime ?? entry.firstSeen), columns.time)} `, 'dim'],
    [`${fitRight(String(entry.pid), columns.pid)} `, 'normal'],
    [`${fit(entry.mode || '?', columns.mode)} `, mode],
    [fit(entry.method || '?', columns.method), 'bold'],
    flagOf(entry),
    [` ${fit(path, pathWidth(width))} `, 'normal'],
    [fitRight(status, columns.status), statusStyle(entry.status)],
    [` ${fitRight(formatDuration(entry.durationMs), columns.duration)} ${fitRight(entry.done ? formatBytes(entry.bytesOut) : '', columns.bytes)}`, 'dim'],
  ];
}

/** renderRow: one request; the selected row is one highlighted bar, plain within it. */
export function renderRow(entry: RequestEntry, width: number, selected: 'no' | 'focused' | 'blurred'): string {
  const cells = rowCells(entry, width);
  if (selected !== 'no') {
    const text = fit(cells.map(([t]) => t).join(''), width);
    return paint(text, selected === 'focused' ? 'selected' : 'selectedBlur');
  }
  return cells.map(([t, s]) => paint(t, s)).join('');
}

/** renderList: title and rows for a pane of `height` lines (title included). */
export function renderList(model: ListModel, width: number, height: number, focused: boolean): string[] {
  const lines = [listTitle(width, focused)];
  const { start, rows } = model.window(height - 1);
  const selectedIndex = model.selectedIndex();
  rows.forEach((entry, i) => {
    const selected = start + i === selectedIndex ? (focused ? 'focused' : 'blurred') : 'no';
    lines.push(renderRow(entry, width, selected));
  });
  if (rows.length === 0) {
    lines.push(paint(model.filterText ? ` no request matches /${model.filterText}` : ' waiting for requests…', 'dim'));
  }
  return lines;
}
