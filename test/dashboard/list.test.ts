import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { handleKey, type KeyContext, type KeyEvent } from '../../src/dashboard/keys';
import { createRenderScheduler, type Timers } from '../../src/dashboard/scheduler';
import { DashboardStore } from '../../src/dashboard/store/dashboard-store';
import { ListModel } from '../../src/dashboard/store/list';
import { UiState } from '../../src/dashboard/store/ui';
import { buildDetail } from '../../src/dashboard/views/detail';
import { cgiRequest, fcgiRequest, item } from './fixtures';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRequest } from '../../src/dashboard/export';

const exportDir = mkdtempSync(join(tmpdir(), 'dualcgi-export-'));

function setup(n = 10): { store: DashboardStore; model: ListModel; ui: UiState; ctx: KeyContext } {
  const store = new DashboardStore();
  for (let i = 1; i <= n; i++) for (const e of fcgiRequest({ n: i, uri: `/p/${i}` })) store.ingest(item(e));
  const model = new ListModel(store);
  const ui = new UiState();
  const ctx: KeyContext = {
    model, ui,
    detailLines: () => {
      const e = model.selected();
      return e ? buildDetail(e, { showSecrets: false, pretty: (ev) => String(ev['msg']) }) : [];
    },
    popupLines: () => 40,
    logSize: () => store.logs.size,
    page: () => 5,
    clear: () => model.clear(),
    exportSelected: () => {
      const e = model.selected();
      return e ? exportRequest(e, exportDir) : null;
    },
  };
  return { store, model, ui, ctx };
}

function press(ctx: KeyContext, keys: Array<string | KeyEvent>): string[] {
  return keys.map((k) => (typeof k === 'string' ? handleKey(ctx, k, { name: k.length === 1 ? k.toLowerCase() : k }) : handleKey(ctx, undefined, k)));
}

const rid = (model: ListModel): string | undefined => model.selected()?.rid;
/** popupOf: read through a function, so TypeScript does not keep a narrowing across key presses. */
const popupOf = (ui: UiState): UiState['popup'] => ui.popup;

describe('ListModel', () => {
  it('follows the newest request until the selection moves', () => {
    const { store, model } = setup(3);
    assert.equal(rid(model), '4242-3');
    for (const e of fcgiRequest({ n: 4 })) store.ingest(item(e));
    assert.equal(rid(model), '4242-4');
    model.move(-2);
    assert.equal(model.follow, false);
    for (const e of fcgiRequest({ n: 5 })) store.ingest(item(e));
    assert.equal(rid(model), '4242-2', 'the selection stays on its request');
    model.toggleFollow();
    assert.equal(rid(model), '4242-5');
  });

  it('freezes the rows while paused and counts what arrived', () => {
    const { store, model } = setup(3);
    model.togglePause();
    for (let n = 4; n <= 6; n++) for (const e of fcgiRequest({ n })) store.ingest(item(e));
    assert.equal(model.rows().length, 3);
    assert.equal(model.newSincePause(), 3);
    model.togglePause();
    assert.equal(model.rows().length, 6);
  });

  it('moves the selection to a neighbour when the filter hides it', () => {
    const { store, model } = setup(0);
    for (const e of [...fcgiRequest({ n: 1, uri: '/a' }), ...fcgiRequest({ n: 2, uri: '/b' }), ...fcgiRequest({ n: 3, uri: '/a2' })]) store.ingest(item(e));
    model.select(1);
    model.setFilter('/a');
    assert.deepEqual(model.rows().map((e) => e.rid), ['4242-1', '4242-3']);
    assert.equal(rid(model), '4242-3');
    model.setFilter('');
    assert.equal(model.rows().length, 3);
  });

  it('scrolls the window to keep the selection visible', () => {
    const { model } = setup(30);
    model.select(0);
    assert.equal(model.window(5).start, 0);
    model.select(17);
    const w = model.window(5);
    assert.equal(w.start, 13);
    assert.equal(w.rows.at(-1)!.rid, '4242-18');
  });
});

describe('handleKey', () => {
  it('moves with arrows and j/k, jumps with g/G, quits with q and C-c', () => {
    const { model, ctx } = setup(10);
    press(ctx, ['up', 'up', 'k']);
    assert.equal(rid(model), '4242-7');
    press(ctx, ['j']);
    assert.equal(rid(model), '4242-8');
    press(ctx, ['g']);
    assert.equal(rid(model), '4242-1');
    handleKey(ctx, 'G', { name: 'g', shift: true });
    assert.equal(rid(model), '4242-10');
    assert.equal(model.follow, true);
    assert.equal(handleKey(ctx, 'q', { name: 'q' }), 'quit');
    assert.equal(handleKey(ctx, undefined, { name: 'c', ctrl: true }), 'quit');
  });

  it('types a filter after / that applies live; Enter keeps it, Esc drops it', () => {
    const { model, ui, ctx } = setup(12);
    press(ctx, ['/', '1', '1']);
    assert.equal(ui.editing, '11');
    assert.deepEqual(model.rows().map((e) => e.rid), ['4242-11']);
    press(ctx, ['q']); // typed, not quit
    assert.equal(ui.editing, '11q');
    press(ctx, [{ name: 'backspace' }, { name: 'enter' }]);
    assert.equal(ui.editing, null);
    assert.equal(model.filterText, '11');
    press(ctx, ['/', '2', { name: 'enter' }]);
    assert.equal(model.filterText, '2', '/ starts a new filter');
    press(ctx, ['/', '1', { name: 'escape' }]);
    assert.equal(model.filterText, '');
  });

  it('Enter opens the detail on the first record; Enter on a STDOUT record opens its bytes', () => {
    const { model, ui, ctx } = setup(3);
    press(ctx, [{ name: 'return' }, { name: 'enter' }]); // blessed sends both for one CR
    assert.equal(ui.focus, 'detail');
    assert.equal(model.follow, false);
    const lines = ctx.detailLines();
    assert.match(lines[ui.detailCursor]!.text, /BEGIN_REQUEST/);
    assert.equal(ui.popup, null, 'the second report of the same CR did nothing');
    while (!lines[ui.detailCursor]!.record) press(ctx, ['down']);
    assert.match(lines[ui.detailCursor]!.text, /STDOUT/);
    press(ctx, [{ name: 'return' }, { name: 'enter' }]);
    assert.equal(popupOf(ui)?.kind, 'record');
    press(ctx, ['down', 'down']);
    const popup = popupOf(ui);
    assert.equal(popup?.kind === 'record' && popup.scroll, 2);
    press(ctx, [{ name: 'escape' }]);
    assert.equal(ui.popup, null);
    press(ctx, [{ name: 'escape' }]);
    assert.equal(ui.focus, 'list');
  });

  it('cycles panes with Tab and S-Tab, scrolls the log, toggles follow/pause, clears, shows help', () => {
    const { store, model, ui, ctx } = setup(10);
    press(ctx, [{ name: 'tab' }, { name: 'tab' }]);
    assert.equal(ui.focus, 'log');
    press(ctx, ['up', 'up']);
    assert.equal(ui.logOffset, 2);
    press(ctx, [{ name: 'end' }]);
    assert.equal(ui.logOffset, 0);
    press(ctx, [{ name: 'tab', shift: true }]);
    assert.equal(ui.focus, 'detail');
    press(ctx, ['f']);
    assert.equal(model.follow, false);
    press(ctx, ['p']);
    assert.equal(model.paused, true);
    press(ctx, ['?']);
    assert.equal(popupOf(ui)?.kind, 'help');
    press(ctx, ['x']);
    assert.equal(ui.popup, null);
    press(ctx, ['c']);
    assert.equal(store.requests.size, 0);
  });

  it('selects CGI requests like any other', () => {
    const { store, model, ctx } = setup(0);
    for (const e of [...cgiRequest({ pid: 1 }), ...cgiRequest({ pid: 2 })]) store.ingest(item(e));
    press(ctx, ['up']);
    assert.equal(model.selected()?.pid, 1);
  });
});

describe('createRenderScheduler', () => {
  function fakeTimers(): Timers & { advance(ms: number): void } {
    let now = 0;
    let queue: Array<{ at: number; fn: () => void; id: number }> = [];
    let ids = 0;
    return {
      now: () => now,
      setTimeout: (fn, ms) => {
        const id = ++ids;
        queue.push({ at: now + ms, fn, id });
        return id;
      },
      clearTimeout: (id) => {
        queue = queue.filter((t) => t.id !== id);
      },
      advance(ms) {
        const until = now + ms;
        for (;;) {
          const next = queue.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
          if (!next) break;
          queue = queue.filter((t) => t !== next);
          now = next.at;
          next.fn();
        }
        now = until;
      },
    };
  }

  it('draws at most once per interval however many requests come', () => {
    const timers = fakeTimers();
    let draws = 0;
    const scheduler = createRenderScheduler(() => draws++, 50, timers);
    // 2,000 events over one second, one request each.
    for (let ms = 0; ms < 1000; ms++) {
      scheduler.request();
      scheduler.request();
      timers.advance(1);
    }
    timers.advance(100);
    assert.ok(draws <= 21, `${draws} draws in a second`);
    assert.ok(draws >= 19, `${draws} draws in a second`);
    assert.equal(scheduler.draws, draws);
  });

  it('draws new data at most every data interval, and input within the short one', () => {
    const timers = fakeTimers();
    let draws = 0;
    const scheduler = createRenderScheduler(() => draws++, 50, timers, 200);
    // Events every millisecond for a second: at once, then every 200 ms.
    for (let ms = 0; ms < 1000; ms++) {
      scheduler.changed();
      timers.advance(1);
    }
    assert.ok(draws >= 5 && draws <= 6, `${draws} draws in a second of data`);
    const before = draws;
    timers.advance(10);
    scheduler.changed(); // due 200 ms after the last draw
    scheduler.request(); // a key: 50 ms after the last draw is sooner
    timers.advance(60);
    assert.equal(draws, before + 1, 'the key drew within 50 ms');
    timers.advance(300);
    assert.equal(draws, before + 1, 'and the pending data draw was that one');
  });

  it('draws the first request at once, flushes on demand and stops', () => {
    const timers = fakeTimers();
    let draws = 0;
    const scheduler = createRenderScheduler(() => draws++, 50, timers);
    scheduler.request();
    timers.advance(0);
    assert.equal(draws, 1);
    scheduler.request();
    scheduler.flush();
    assert.equal(draws, 2);
    scheduler.request();
    scheduler.stop();
    timers.advance(1000);
    assert.equal(draws, 2);
  });
});

describe('export key', () => {
  it('x writes the selected request as curl, env and replay files (0600) and says where', () => {
    const { ctx, ui, model } = setup(2);
    const selected = model.selected()!;
    assert.equal(press(ctx, ['x'])[0], 'changed');
    const popup = popupOf(ui);
    assert.ok(popup && popup.kind === 'message');
    const files = readdirSync(exportDir).filter((f) => f.includes(selected.rid.replace(/[^A-Za-z0-9_-]/g, '_'))).sort();
    assert.equal(files.length, 3);
    assert.deepEqual(files.map((f) => f.replace(/^dualcgi-[^.]+/, '')), ['.curl.sh', '.env', '.replay.ndjson']);
    for (const f of files) assert.equal(statSync(join(exportDir, f)).mode & 0o777, 0o600);
    const curl = readFileSync(join(exportDir, files[0]!), 'utf8');
    assert.match(curl, /curl/);
    assert.match(curl, new RegExp(selected.uri.replace(/[/?]/g, '.')));
    assert.ok(popup.lines.some((l) => l.includes('.replay.ndjson')));
  });

  it('x does nothing when no request is selected', () => {
    const { ctx, ui } = setup(0);
    assert.equal(press(ctx, ['x'])[0], 'ignored');
    assert.equal(popupOf(ui), null);
  });
});
