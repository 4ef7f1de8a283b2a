import blessed from 'blessed';
import type { Widgets } from 'blessed';
import { createPretty, type PrettyFn } from './format/pretty';
import { exportRequest } from './export';
import { handleKey, type KeyContext } from './keys';
import { createRenderScheduler, type RenderScheduler } from './scheduler';
import type { DashboardStore } from './store/dashboard-store';
import { ListModel } from './store/list';
import type { RequestEntry } from './store/requests';
import { UiState } from './store/ui';
import { buildDetail, renderDetail, type DetailLine } from './views/detail';
import { renderFooter } from './views/footer';
import { renderHeader } from './views/header';
import { computeLayout, type Layout, type Rect } from './views/layout';
import { LogFormatter, renderLog } from './views/log-pane';
import { helpLines, paintPopup, recordPopupLines, type PopupLine } from './views/popup';
import { renderList } from './views/request-list';
import { useColors } from './views/theme';

/** ScreenOptions: where the dashboard draws; tests pass fake streams. */
export interface ScreenOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  terminal?: string;
}

/** DashboardAppOptions: what the screen shows besides the store. */
export interface DashboardAppOptions extends ScreenOptions {
  /** listen: the socket path, for the header. */
  listen: string;
  showSecrets: boolean;
  /** exportDir: where `x` writes the selected request's exports. Default: the current folder. */
  exportDir?: string;
  /** onQuit: `q` or C-c. */
  onQuit(): void;
}

interface Panes {
  header: Widgets.BoxElement;
  list: Widgets.BoxElement;
  detail: Widgets.BoxElement;
  log: Widgets.BoxElement;
  footer: Widgets.BoxElement;
  popup: Widgets.BoxElement;
}

function pane(screen: Widgets.Screen, extra: Widgets.BoxOptions = {}): Widgets.BoxElement {
  return blessed.box({ parent: screen, tags: true, wrap: false, ...extra });
}

function place(box: Widgets.BoxElement, rect: Rect): void {
  box.top = rect.top;
  box.left = rect.left;
  box.width = rect.width;
  box.height = rect.height;
}

/**
 * DashboardApp: the blessed side: a screen, five boxes and a popup, all filled by the views from
 * the store on each frame. The render scheduler is the only caller of `screen.render()`.
 */
export class DashboardApp {
  readonly screen: Widgets.Screen;
  readonly model: ListModel;
  readonly ui = new UiState();
  readonly scheduler: RenderScheduler;
  #store: DashboardStore;
  #options: DashboardAppOptions;
  #panes: Panes;
  #layout: Layout;
  #pretty: PrettyFn;
  #logFormatter: LogFormatter;
  #detail: { rid: string; version: number; lines: DetailLine[] } | undefined;
  #listStart = 0;
  #tick: NodeJS.Timeout;

  constructor(store: DashboardStore, options: DashboardAppOptions) {
    this.#store = store;
    this.#options = options;
    this.model = new ListModel(store);
    this.#pretty = createPretty({ colorize: false, ignore: ['pid', 'rid'] });
    this.#logFormatter = new LogFormatter(createPretty({ colorize: false }));
    this.screen = blessed.screen({
      smartCSR: true, autoPadding: false, warnings: false, title: 'dualcgi dashboard',
      // @types/blessed has input and output the wrong way round.
      ...(options.input ? { input: options.input as unknown as Widgets.IScreenOptions['input'] } : {}),
      ...(options.output ? { output: options.output as unknown as Widgets.IScreenOptions['output'] } : {}),
      ...(options.terminal ? { terminal: options.terminal } : {}),
    });
    // blessed draws box characters (─ │ ·) through the terminal's ACS charset even on a UTF-8
    // terminal; tmux then keeps them as ACS letters (`qqq` in capture-pane and copy-paste).
    // On a UTF-8 locale, write them as UTF-8 (ncurses' NCURSES_NO_UTF8_ACS does the same).
    const tput = this.screen.tput as unknown as { unicode: boolean; brokenACS: boolean; colors: number };
    if (tput.unicode) tput.brokenACS = true;
    useColors(tput.colors);
    this.#panes = {
      header: pane(this.screen), list: pane(this.screen, { mouse: true }), detail: pane(this.screen, { mouse: true }),
      log: pane(this.screen, { mouse: true }), footer: pane(this.screen),
      popup: pane(this.screen, { hidden: true, border: { type: 'line' }, style: { border: { fg: 'cyan' } } }),
    };
    this.#layout = this.#applyLayout();
    this.scheduler = createRenderScheduler(() => this.#draw());
    this.#bindInput();
    this.#tick = setInterval(() => this.scheduler.changed(), 1000);
    this.scheduler.request();
  }

  /** changed: the store changed; draw within a data frame (scheduler.ts). */
  changed(): void {
    this.scheduler.changed();
  }

  /** destroy: restore the terminal. */
  destroy(): void {
    clearInterval(this.#tick);
    this.scheduler.stop();
    this.screen.destroy();
  }

  #bindInput(): void {
    const ctx: KeyContext = {
      model: this.model, ui: this.ui,
      detailLines: () => this.#detailLines(this.model.selected()),
      popupLines: () => this.#popupLines().length,
      logSize: () => this.#store.logs.size,
      page: (p) => Math.max(1, this.#layout[p].height - 1),
      clear: () => {
        this.model.clear();
        this.ui.logOffset = 0;
        this.ui.detailCursor = 0;
      },
      exportSelected: () => {
        const selected = this.model.selected();
        return selected ? exportRequest(selected, this.#options.exportDir ?? process.cwd(), { showSecrets: this.#options.showSecrets }) : null;
      },
    };
    this.screen.on('keypress', (ch: string | undefined, key: Widgets.Events.IKeyEventArg | undefined) => {
      const result = handleKey(ctx, ch, key ?? {});
      if (result === 'quit') this.#options.onQuit();
      else if (result === 'changed') this.scheduler.request();
    });
    this.screen.on('resize', () => {
      this.#layout = this.#applyLayout();
      this.scheduler.request();
    });
    this.#bindMouse();
  }

  /** #bindMouse: click selects and focuses, the wheel moves; cheap because blessed does the work. */
  #bindMouse(): void {
    const { list, detail, log } = this.#panes;
    const act = (box: Widgets.BoxElement, event: string, fn: (data: Widgets.Events.IMouseEventArg) => void): void => {
      box.on(event, (data: Widgets.Events.IMouseEventArg) => {
        fn(data);
        this.scheduler.request();
      });
    };
    act(list, 'click', (data) => {
      this.ui.focus = 'list';
      const row = data.y - this.#layout.list.top - 1;
      if (row >= 0) this.model.select(this.#listStart + row);
    });
    act(detail, 'click', () => {
      this.ui.focus = 'detail';
    });
    act(log, 'click', () => {
      this.ui.focus = 'log';
    });
    for (const [event, step] of [['wheelup', -3], ['wheeldown', 3]] as const) {
      act(list, event, () => this.model.move(step));
      act(detail, event, () => {
        this.ui.detailCursor = Math.max(0, this.ui.detailCursor + step);
      });
      act(log, event, () => {
        this.ui.logOffset = Math.max(0, this.ui.logOffset - step);
      });
    }
  }

  #applyLayout(): Layout {
    const layout = computeLayout(Number(this.screen.width), Number(this.screen.height));
    for (const name of ['header', 'list', 'detail', 'log', 'footer'] as const) place(this.#panes[name], layout[name]);
    const p = this.#panes.popup;
    p.top = 'center';
    p.left = 'center';
    // Full width below 100 columns: a 16-byte hex line needs 77.
    p.width = layout.header.width < 100 ? layout.header.width : Math.floor(layout.header.width * 0.9);
    p.height = Math.max(6, Math.floor(Number(this.screen.height) * 0.8));
    return layout;
  }

  #detailLines(entry: RequestEntry | undefined): DetailLine[] {
    if (!entry) return [];
    const cached = this.#detail;
    if (cached && cached.rid === entry.rid && cached.version === entry.version) return cached.lines;
    const lines = buildDetail(entry, { showSecrets: this.#options.showSecrets, pretty: this.#pretty });
    this.#detail = { rid: entry.rid, version: entry.version, lines };
    return lines;
  }

  #popupLines(): PopupLine[] {
    const popup = this.ui.popup;
    if (!popup) return [];
    if (popup.kind === 'message') return popup.lines.map((text) => ({ text, style: 'normal' as const }));
    return popup.kind === 'help' ? helpLines() : recordPopupLines(popup.record, Number(this.#panes.popup.width) - 2);
  }

  /** #draw: every pane from the stores, then the one screen.render(). */
  #draw(): void {
    const { header, list, detail, log, footer } = this.#panes;
    const layout = this.#layout;
    const focus = this.ui.focus;
    if (layout.tooSmall) {
      header.setContent(`{bold}dualcgi{/bold}: ${layout.header.width}x${layout.footer.top + 1} is too small;\nthe dashboard needs 40x12`);
      for (const box of [list, detail, log, footer]) box.setContent('');
      this.screen.render();
      return;
    }
    header.setContent(renderHeader(this.#store, { listen: this.#options.listen, width: layout.header.width, now: Date.now() }).join('\n'));
    list.setContent(renderList(this.model, layout.list.width, layout.list.height, focus === 'list').join('\n'));
    this.#listStart = this.model.scroll;
    this.#drawDetail();
    log.setContent(renderLog(this.#store.logs, this.#logFormatter, { ...layout.log, offset: this.ui.logOffset, focused: focus === 'log' }).join('\n'));
    footer.setContent(renderFooter(this.model, this.ui, this.#store.requests.size, layout.footer.width));
    this.#drawPopup();
    this.screen.render();
  }

  #drawDetail(): void {
    const entry = this.model.selected();
    if (this.ui.detailRid !== entry?.rid) {
      this.ui.detailRid = entry?.rid;
      this.ui.detailCursor = 0;
    }
    const rect = this.#layout.detail;
    const view = { width: rect.width, height: rect.height, cursor: this.ui.detailCursor, focused: this.ui.focus === 'detail' };
    const drawn = renderDetail(entry, this.#detailLines(entry), view);
    this.ui.detailCursor = drawn.cursor;
    this.#panes.detail.setContent(drawn.lines.join('\n'));
  }

  #drawPopup(): void {
    const box = this.#panes.popup;
    const popup = this.ui.popup;
    if (!popup) {
      box.hide();
      return;
    }
    const width = Number(box.width) - 2;
    const height = Number(box.height) - 2;
    box.setLabel(popup.kind === 'help' ? ' help ' : popup.kind === 'message' ? ' export · any key closes '
      : ' record content · ↑↓ scroll · any other key closes ');
    box.setContent(paintPopup(this.#popupLines(), width, height, popup.kind === 'record' ? popup.scroll : 0));
    box.show();
    box.setFront();
  }
}
