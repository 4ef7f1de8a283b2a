import type { ListModel } from './store/list';
import type { UiState } from './store/ui';
import type { DetailLine } from './views/detail';

/** KeyEvent: the parts of blessed's key object that the dashboard reads. */
export interface KeyEvent {
  name?: string | undefined;
  ctrl?: boolean | undefined;
  shift?: boolean | undefined;
}

/** KeyContext: what keys act on; pane heights come from the current layout. */
export interface KeyContext {
  model: ListModel;
  ui: UiState;
  /** detailLines: the selected request's lines, as the detail pane shows them. */
  detailLines(): DetailLine[];
  /** popupLines: how many lines the open popup has (for scrolling it). */
  popupLines(): number;
  logSize(): number;
  /** page: the body height of a pane (PgUp/PgDn). */
  page(pane: 'list' | 'detail' | 'log'): number;
  clear(): void;
  /** exportSelected: write the selected request's exports; the lines to show, or null if none is selected. */
  exportSelected(): string[] | null;
}

/** KeyResult: quit the dashboard, draw again, or nothing happened. */
export type KeyResult = 'quit' | 'changed' | 'ignored';

/**
 * handleKey: every key of the dashboard, in one place and without blessed, so the bindings are
 * tested. Modes first (typing a filter, a popup open), then global keys, then the focused pane's.
 */
export function handleKey(ctx: KeyContext, ch: string | undefined, key: KeyEvent): KeyResult {
  if (key.ctrl && key.name === 'c') return 'quit';
  if (ctx.ui.editing !== null) return editKey(ctx, ch, key);
  if (ctx.ui.popup) return popupKey(ctx, key);
  switch (ch) {
    case 'q': return 'quit';
    case '?': ctx.ui.popup = { kind: 'help' }; return 'changed';
    case '/': return startFilter(ctx);
    case 'f': ctx.model.toggleFollow(); return 'changed';
    case 'p': ctx.model.togglePause(); return 'changed';
    case 'c': ctx.clear(); return 'changed';
    case 'x': return exportKey(ctx);
    default: break;
  }
  if (key.name === 'tab') {
    ctx.ui.nextPane(key.shift ? -1 : 1);
    return 'changed';
  }
  if (key.name === 'escape') return escapeKey(ctx);
  switch (ctx.ui.focus) {
    case 'list': return listKey(ctx, ch, key);
    case 'detail': return detailKey(ctx, ch, key);
    case 'log': return logKey(ctx, ch, key);
  }
}

/** movement: the vertical movement a key asks for, or undefined. */
function movement(ch: string | undefined, key: KeyEvent, page: number): number | 'home' | 'end' | undefined {
  if (key.name === 'up' || ch === 'k') return -1;
  if (key.name === 'down' || ch === 'j') return 1;
  if (key.name === 'pageup') return -Math.max(1, page - 1);
  if (key.name === 'pagedown' || ch === ' ') return Math.max(1, page - 1);
  if (key.name === 'home' || ch === 'g') return 'home';
  if (key.name === 'end' || ch === 'G') return 'end';
  return undefined;
}

/**
 * isEnter: blessed reports a CR twice, as `return` and then as `enter` (program.js); acting on
 * both would open the detail and then act inside it. Only `enter` counts.
 */
function isEnter(key: KeyEvent): boolean {
  return key.name === 'enter';
}

/** startFilter: `/` types a new filter (as `/` starts a new search in less), applied as typed. */
function startFilter(ctx: KeyContext): KeyResult {
  ctx.ui.editing = '';
  ctx.model.setFilter('');
  return 'changed';
}

function editKey(ctx: KeyContext, ch: string | undefined, key: KeyEvent): KeyResult {
  const ui = ctx.ui;
  const text = ui.editing ?? '';
  if (isEnter(key)) {
    ui.editing = null;
    return 'changed';
  }
  if (key.name === 'escape') {
    ui.editing = null;
    ctx.model.setFilter('');
    return 'changed';
  }
  if (key.name === 'backspace') ui.editing = text.slice(0, -1);
  else if (key.ctrl && key.name === 'u') ui.editing = '';
  else if (ch !== undefined && ch.length === 1 && ch >= ' ' && ch !== '\x7f' && !key.ctrl) ui.editing = text + ch;
  else return 'ignored';
  // The list follows the filter as it is typed.
  ctx.model.setFilter(ui.editing);
  return 'changed';
}

function popupKey(ctx: KeyContext, key: KeyEvent): KeyResult {
  const popup = ctx.ui.popup!;
  if (key.name === 'return') return 'ignored'; // the CR that comes before its `enter`
  if (popup.kind === 'record') {
    const page = Math.max(1, ctx.page('detail') - 1);
    const max = Math.max(0, ctx.popupLines() - 1);
    const step = key.name === 'up' ? -1 : key.name === 'down' ? 1 : key.name === 'pageup' ? -page : key.name === 'pagedown' ? page : 0;
    if (step !== 0) {
      popup.scroll = Math.max(0, Math.min(max, popup.scroll + step));
      return 'changed';
    }
  }
  ctx.ui.popup = null;
  return 'changed';
}

/** exportKey: `x` exports the selected request (curl, env file, replay file) and says where. */
function exportKey(ctx: KeyContext): KeyResult {
  let lines: string[] | null;
  try {
    lines = ctx.exportSelected();
  } catch (err) {
    lines = [`export failed: ${(err as Error).message}`];
  }
  if (lines === null) return 'ignored';
  ctx.ui.popup = { kind: 'message', lines };
  return 'changed';
}

function escapeKey(ctx: KeyContext): KeyResult {
  if (ctx.ui.focus !== 'list') {
    ctx.ui.focus = 'list';
    return 'changed';
  }
  if (ctx.model.filterText) {
    ctx.model.setFilter('');
    return 'changed';
  }
  return 'ignored';
}

function listKey(ctx: KeyContext, ch: string | undefined, key: KeyEvent): KeyResult {
  if (isEnter(key)) {
    if (!ctx.model.selected()) return 'ignored';
    // Enter opens the detail with the cursor on the timeline's first record, and stops following:
    // the request being read must not be swapped for the next one that arrives.
    ctx.model.select(ctx.model.selectedIndex());
    ctx.ui.focus = 'detail';
    const first = ctx.detailLines().findIndex((l) => l.record !== undefined || l.text.includes('BEGIN_REQUEST'));
    ctx.ui.detailCursor = Math.max(0, first);
    return 'changed';
  }
  const move = movement(ch, key, ctx.page('list'));
  if (move === undefined) return 'ignored';
  if (move === 'home') ctx.model.select(0);
  else if (move === 'end') ctx.model.select('end');
  else ctx.model.move(move);
  return 'changed';
}

function detailKey(ctx: KeyContext, ch: string | undefined, key: KeyEvent): KeyResult {
  const lines = ctx.detailLines();
  if (isEnter(key)) {
    const record = lines[ctx.ui.detailCursor]?.record;
    if (!record) return 'ignored';
    ctx.ui.popup = { kind: 'record', record, scroll: 0 };
    return 'changed';
  }
  const move = movement(ch, key, ctx.page('detail'));
  if (move === undefined) return 'ignored';
  const last = Math.max(0, lines.length - 1);
  const to = move === 'home' ? 0 : move === 'end' ? last : ctx.ui.detailCursor + move;
  ctx.ui.detailCursor = Math.max(0, Math.min(last, to));
  return 'changed';
}

function logKey(ctx: KeyContext, ch: string | undefined, key: KeyEvent): KeyResult {
  const move = movement(ch, key, ctx.page('log'));
  if (move === undefined) return 'ignored';
  const max = Math.max(0, ctx.logSize() - ctx.page('log'));
  // The offset counts up from the newest line, so moving down lowers it.
  const to = move === 'home' ? max : move === 'end' ? 0 : ctx.ui.logOffset - move;
  ctx.ui.logOffset = Math.max(0, Math.min(max, to));
  return 'changed';
}
