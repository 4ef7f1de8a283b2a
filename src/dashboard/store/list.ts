import type { DashboardStore } from './dashboard-store';
import { parseFilter, type RequestFilter } from './filter';
import type { RequestEntry } from './requests';

/**
 * ListModel: the request list's state over the store: filter, selection (kept by rid, so it stays
 * on its request while new ones arrive), follow (select the newest), pause (freeze the rows while
 * events keep coming into the store) and scrolling. No blessed: keys call these methods.
 */
export class ListModel {
  #store: DashboardStore;
  #filter: RequestFilter = parseFilter('');
  #rows: RequestEntry[] = [];
  #builtAt = -1;
  #selected: RequestEntry | undefined;
  #follow = true;
  #paused = false;
  /** scroll: index of the first row shown. */
  scroll = 0;

  constructor(store: DashboardStore) {
    this.#store = store;
  }

  get follow(): boolean {
    return this.#follow;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get filterText(): string {
    return this.#filter.text;
  }

  /** rows: the filtered requests, oldest first; rebuilt when the store changed (unless paused). */
  rows(): RequestEntry[] {
    if (!this.#paused && this.#builtAt !== this.#store.version) this.#rebuild();
    return this.#rows;
  }

  /** selected: the selected request, if any. */
  selected(): RequestEntry | undefined {
    this.rows();
    return this.#selected;
  }

  /** selectedIndex: its row, or -1. */
  selectedIndex(): number {
    const rows = this.rows();
    return this.#selected ? indexBySeq(rows, this.#selected.seq) : -1;
  }

  /** move: the selection by `delta` rows; leaves follow mode, unless it lands on the newest row. */
  move(delta: number): void {
    const rows = this.rows();
    if (rows.length === 0) return;
    const from = this.selectedIndex();
    const to = Math.max(0, Math.min(rows.length - 1, (from === -1 ? rows.length - 1 : from) + delta));
    this.#selected = rows[to];
    this.#follow = to === rows.length - 1 && delta > 0 && this.#follow;
  }

  /** select: a row by index (mouse click); `end` selects the newest and follows. */
  select(index: number | 'end'): void {
    const rows = this.rows();
    if (rows.length === 0) return;
    if (index === 'end') {
      this.#follow = true;
      this.#selected = rows[rows.length - 1];
      return;
    }
    this.#selected = rows[Math.max(0, Math.min(rows.length - 1, index))];
    this.#follow = false;
  }

  toggleFollow(): void {
    this.#follow = !this.#follow;
    if (this.#follow) this.select('end');
  }

  /** togglePause: pausing freezes the rows as they are now; resuming catches up. */
  togglePause(): void {
    this.#rebuild();
    this.#paused = !this.#paused;
  }

  /** setFilter: a new filter text; applied at once, even when paused. */
  setFilter(text: string): void {
    this.#filter = parseFilter(text);
    this.#rebuild();
  }

  /** clear: empty the store and the list (keeps the filter). */
  clear(): void {
    this.#store.clear();
    this.#selected = undefined;
    this.#follow = true;
    this.scroll = 0;
    this.#rebuild();
  }

  /** window: the rows to draw in `height` lines, scrolled so the selection is visible. */
  window(height: number): { start: number; rows: RequestEntry[] } {
    const rows = this.rows();
    const selected = this.selectedIndex();
    if (height <= 0) return { start: 0, rows: [] };
    if (selected !== -1) {
      if (selected < this.scroll) this.scroll = selected;
      if (selected >= this.scroll + height) this.scroll = selected - height + 1;
    }
    this.scroll = Math.max(0, Math.min(this.scroll, rows.length - height));
    return { start: this.scroll, rows: rows.slice(this.scroll, this.scroll + height) };
  }

  /** newSincePause: requests that arrived after the rows were frozen. */
  newSincePause(): number {
    if (!this.#paused) return 0;
    const last = this.#rows[this.#rows.length - 1];
    return this.#store.requests.all().filter((e) => !last || e.seq > last.seq).length;
  }

  #rebuild(): void {
    const test = this.#filter.test;
    this.#rows = this.#filter.text === '' ? this.#store.requests.all() : this.#store.requests.all().filter(test);
    this.#builtAt = this.#store.version;
    const rows = this.#rows;
    if (this.#follow || !this.#selected) {
      this.#selected = rows[rows.length - 1];
    } else if (indexBySeq(rows, this.#selected.seq) === -1) {
      // The selection was filtered out or evicted: move to its nearest neighbour.
      this.#selected = rows[Math.min(rows.length - 1, lowerBound(rows, this.#selected.seq))];
    }
  }
}

/** lowerBound: the first row whose seq is >= seq (rows are in seq order). */
function lowerBound(rows: RequestEntry[], seq: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function indexBySeq(rows: RequestEntry[], seq: number): number {
  const i = lowerBound(rows, seq);
  return i < rows.length && rows[i]!.seq === seq ? i : -1;
}
