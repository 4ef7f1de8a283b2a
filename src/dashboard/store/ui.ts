import type { RecordEntry } from './requests';

/** Pane: what has the keyboard. */
export type Pane = 'list' | 'detail' | 'log';

/** panes: the Tab order. */
export const panes: readonly Pane[] = ['list', 'detail', 'log'];

/** Popup: an overlay: the help, or one record's content (text and hex). */
export type Popup =
  | { kind: 'help' }
  | { kind: 'record'; record: RecordEntry; scroll: number }
  | { kind: 'message'; lines: string[] };

/**
 * UiState: the view state that is not about the request list: focus, the detail pane's cursor,
 * the log pane's scroll, the filter being typed, the popup. Plain data; keys change it.
 */
export class UiState {
  focus: Pane = 'list';
  /** detailCursor: the highlighted line of the detail pane (when it has the focus). */
  detailCursor = 0;
  /** detailRid: the request the cursor belongs to; a new selection resets the cursor. */
  detailRid: string | undefined;
  /** logOffset: lines scrolled up from the newest log line (0 = following the log). */
  logOffset = 0;
  /** editing: the filter text being typed after `/`, or null. */
  editing: string | null = null;
  popup: Popup | null = null;

  /** nextPane: Tab (and shift-Tab backwards). */
  nextPane(step = 1): void {
    const i = panes.indexOf(this.focus);
    this.focus = panes[(i + step + panes.length) % panes.length]!;
  }
}
