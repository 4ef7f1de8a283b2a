import { escapeTags, fit, plain } from '../text';

/**
 * The dashboard's styles as blessed tags, in one place. Views build plain text, fit it to the
 * width, then `paint` it: escaping happens here, after cutting, so an escape is never cut in half.
 */
export type Style =
  | 'normal' | 'dim' | 'bold' | 'heading' | 'title' | 'titleFocus' | 'selected' | 'selectedBlur'
  | 'in' | 'out' | 'error' | 'warn' | 'ok' | 'redirect' | 'info' | 'cgi' | 'fcgi' | 'key';

const open: Record<Style, string> = {
  normal: '',
  dim: '{gray-fg}',
  bold: '{bold}',
  heading: '{bold}{cyan-fg}',
  title: '{white-fg}{blue-bg}',
  titleFocus: '{black-fg}{cyan-bg}{bold}',
  selected: '{black-fg}{cyan-bg}',
  selectedBlur: '{inverse}',
  in: '{green-fg}',
  out: '{magenta-fg}',
  error: '{red-fg}',
  warn: '{yellow-fg}',
  ok: '{green-fg}',
  redirect: '{cyan-fg}',
  info: '{blue-fg}',
  cgi: '{magenta-fg}',
  fcgi: '{blue-fg}',
  key: '{bold}{yellow-fg}',
};

/**
 * useColors: adapt the palette to the terminal. blessed reads tmux-256color and screen-256color
 * terminfo as plain 8-color xterm, where its `gray` (color 8) is reduced to black: invisible on a
 * dark terminal. With fewer than 16 colors, secondary text keeps the default color instead.
 */
export function useColors(count: number): void {
  open.dim = count >= 16 ? '{gray-fg}' : '';
}

/** paint: untrusted or plain text, made safe, in a style. */
export function paint(text: string, style: Style): string {
  const safe = escapeTags(plain(text));
  const tag = open[style];
  return tag === '' || safe === '' ? safe : `${tag}${safe}{/}`;
}

/** paintFit: fit to `width` columns, then paint. */
export function paintFit(text: string, width: number, style: Style): string {
  return paint(fit(plain(text), width), style);
}

/** statusStyle: the color of an HTTP status. */
export function statusStyle(status: number | undefined): Style {
  if (status === undefined) return 'dim';
  if (status >= 500) return 'error';
  if (status >= 400) return 'warn';
  if (status >= 300) return 'redirect';
  return 'ok';
}

/** levelStyle: the color of a pino level. */
export function levelStyle(level: number): Style {
  if (level >= 50) return 'error';
  if (level >= 40) return 'warn';
  if (level < 30) return 'dim';
  return 'normal';
}

/** titleBar: a pane's title line: left and right text over the full width. */
export function titleBar(left: string, right: string, width: number, focused: boolean): string {
  const l = plain(left);
  const r = plain(right);
  const gap = width - l.length - r.length;
  const text = gap >= 1 ? `${l}${' '.repeat(gap)}${r}` : fit(l, width);
  return paint(text, focused ? 'titleFocus' : 'title');
}
