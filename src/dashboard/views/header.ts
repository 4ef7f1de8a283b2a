import type { DashboardStore } from '../store/dashboard-store';
import type { ProcessEntry } from '../store/processes';
import { fit, formatAge, formatDuration, plain } from '../text';
import { paint, type Style } from './theme';

/** HeaderContext: what the header shows besides the store. */
export interface HeaderContext {
  /** listen: the socket path, shown as the DUALCGI_TRACE value an app needs. */
  listen: string;
  width: number;
  now: number;
}

/** Segment: a piece of a line in one style; lines are built from these and cut to the width. */
type Segment = [text: string, style: Style];

/** paintSegments: segments cut to `width` columns in total, then painted. */
export function paintSegments(segments: Segment[], width: number): string {
  let left = width;
  let out = '';
  for (const [text, style] of segments) {
    if (left <= 0) break;
    const t = plain(text);
    const piece = t.length > left ? fit(t, left) : t;
    out += paint(piece, style);
    left -= piece.length;
  }
  return out;
}

/**
 * renderHeader: three lines: where we listen (as the DUALCGI_TRACE to set) and the counters; the
 * last minute's rate, latency percentiles and errors; the processes seen, most recent first.
 */
export function renderHeader(store: DashboardStore, ctx: HeaderContext): string[] {
  return [listenLine(store, ctx), statsLine(store, ctx), processLine(store, ctx)];
}

function listenLine(store: DashboardStore, ctx: HeaderContext): string {
  const counters = `events ${store.counters.events}  dropped ${store.dropped()}  bad lines ${store.counters.textLines + store.counters.unknown} `;
  const left: Segment[] = [[' dualcgi ', 'heading'], ['DUALCGI_TRACE=', 'dim'], [`unix:${ctx.listen}`, 'bold']];
  const leftWidth = left.reduce((n, [t]) => n + t.length, 0);
  const gap = ctx.width - leftWidth - counters.length;
  if (gap < 2) return paintSegments(left, ctx.width);
  const dropped = store.dropped() + store.counters.textLines > 0;
  return paintSegments([...left, [' '.repeat(gap), 'normal'], [counters, dropped ? 'warn' : 'dim']], ctx.width);
}

function statsLine(store: DashboardStore, ctx: HeaderContext): string {
  const s = store.stats.snapshot(ctx.now);
  const segments: Segment[] = [
    [' last min ', 'dim'], [`${s.count} req`, 'bold'], [` ${s.rate.toFixed(1)}/s`, 'normal'],
    ['  p50 ', 'dim'], [formatDuration(s.p50), 'normal'],
    [' p95 ', 'dim'], [formatDuration(s.p95), 'normal'],
    [' p99 ', 'dim'], [formatDuration(s.p99), 'normal'],
    ['  4xx ', 'dim'], [String(s.window4xx), s.window4xx > 0 ? 'warn' : 'normal'],
    [' 5xx ', 'dim'], [String(s.window5xx), s.window5xx > 0 ? 'error' : 'normal'],
    [`   total ${s.total} (4xx ${s.total4xx}, 5xx ${s.total5xx})`, 'dim'],
  ];
  return paintSegments(segments, ctx.width);
}

function processLine(store: DashboardStore, ctx: HeaderContext): string {
  const table = store.processes;
  if (table.size === 0) return paintSegments([[' no process has connected yet: point the app here (DUALCGI_TRACE, or a .dualcgi-trace file next to its entry script), then send a request', 'dim']], ctx.width);
  const segments: Segment[] = [[` procs ${table.live()} live of ${table.size}:  `, 'dim']];
  for (const p of table.recent()) segments.push(...processSegments(p, ctx.now), ['  ', 'normal']);
  return paintSegments(segments, ctx.width);
}

function processSegments(p: ProcessEntry, now: number): Segment[] {
  const mode: Style = p.mode === 'cgi' ? 'cgi' : p.mode === 'fcgi' ? 'fcgi' : 'normal';
  return [
    [String(p.pid), p.exited ? 'dim' : 'bold'], [` ${p.mode || '?'}`, mode],
    [` ${p.requests}req ${formatAge(now - p.lastSeen)}${p.exited ? ' exited' : ''}`, 'dim'],
  ];
}
