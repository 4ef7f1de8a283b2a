import { stripUnsafe } from '../trace/reader';

/**
 * Text helpers shared by the dashboard's views and `tail`. Every string that came from an event is
 * untrusted: it passes through `plain` (no terminal controls, one line) and, inside blessed, `tagSafe`
 * (no `{...}` can become a blessed tag).
 */

/** plain: one displayable line: control characters stripped, tabs and newlines flattened to spaces. */
export function plain(text: string): string {
  return stripUnsafe(text).replace(/[\t\n]/g, ' ');
}

/** escapeTags: blessed's tag escaping done in one pass, so `{open}` itself cannot be re-read as a tag. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** tagSafe: untrusted text to a blessed-safe single line. */
export function tagSafe(text: string): string {
  return escapeTags(plain(text));
}

/** fit: one plain line cut to `width` columns (with an ellipsis) or padded with spaces. */
export function fit(raw: string, width: number): string {
  if (width <= 0) return '';
  // Measure what will be shown: control characters would be stripped later and shorten the line.
  const text = plain(raw);
  if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
  return text.padEnd(width);
}

/** fitRight: like fit, right-aligned (numbers). */
export function fitRight(raw: string, width: number): string {
  if (width <= 0) return '';
  const text = plain(raw);
  if (text.length > width) return `${text.slice(0, width - 1)}…`;
  return text.padStart(width);
}

/** cut: shorten to at most `max` characters with an ellipsis; no padding. */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** formatBytes: `0B`, `512B`, `1.2kB`, `3.4MB` (SI, as HTTP tools print sizes). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  if (n < 1000) return `${Math.round(n)}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

/** formatDuration: `0.4ms`, `12ms`, `1.23s`, `2m03s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 10) return `${(Math.round(ms * 10) / 10).toString()}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** formatClock: local `HH:MM:SS`, with `.mmm` when asked. */
export function formatClock(time: number, millis = false): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  const two = (n: number): string => String(n).padStart(2, '0');
  const base = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return millis ? `${base}.${String(d.getMilliseconds()).padStart(3, '0')}` : base;
}

/** formatAge: how long ago, compactly: `now`, `4s`, `3m`, `2h`. */
export function formatAge(ms: number): string {
  if (ms < 1000) return 'now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  return `${Math.floor(ms / 3_600_000)}h`;
}
