import type { ListModel } from '../store/list';
import type { UiState } from '../store/ui';
import { plain } from '../text';
import { paint } from './theme';

/**
 * renderFooter: the filter being typed, or the key hints and the list's state (follow, pause,
 * filter, count), which the user must always be able to see.
 */
export function renderFooter(model: ListModel, ui: UiState, total: number, width: number): string {
  if (ui.editing !== null) {
    const text = plain(ui.editing);
    const room = Math.max(1, width - 30);
    const shown = text.length > room ? text.slice(text.length - room) : text;
    return `${paint(' filter /', 'key')}${paint(shown, 'bold')}{inverse} {/inverse}${paint('  Enter keep · Esc clear', 'dim')}`;
  }
  const state: string[] = [];
  if (model.paused) state.push(`PAUSED +${model.newSincePause()}`);
  state.push(model.follow ? 'follow' : 'no follow');
  if (model.filterText) state.push(`/${model.filterText}`);
  state.push(`${model.rows().length}/${total}`);
  const status = ` ${state.join(' | ')} `;
  const hints: Array<[string, string]> = [['q', 'quit'], ['?', 'help'], ['/', 'filter'], ['f', 'follow'], ['p', 'pause'], ['Tab', 'pane'], ['c', 'clear']];
  let out = '';
  let used = status.length;
  for (const [key, what] of hints) {
    const piece = ` ${key} ${what} `;
    if (used + piece.length > width) break;
    out += ` ${paint(key, 'key')} ${paint(what, 'dim')} `;
    used += piece.length;
  }
  const gap = Math.max(0, width - used);
  return `${out}${' '.repeat(gap)}${paint(status, model.paused ? 'warn' : model.filterText ? 'heading' : 'dim')}`;
}
