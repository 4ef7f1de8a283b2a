import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { DashboardApp } from '../../src/dashboard/app';
import { createPretty } from '../../src/dashboard/format/pretty';
import { DashboardStore } from '../../src/dashboard/store/dashboard-store';
import { ListModel } from '../../src/dashboard/store/list';
import { buildDetail, paintDetailLine } from '../../src/dashboard/views/detail';
import { renderHeader } from '../../src/dashboard/views/header';
import { computeLayout } from '../../src/dashboard/views/layout';
import { hexDump, previewBytes, recordPopupLines } from '../../src/dashboard/views/popup';
import { pathWidth, renderList, renderRow } from '../../src/dashboard/views/request-list';
import { escapeTags, fit, formatBytes, formatDuration, tagSafe } from '../../src/dashboard/text';
import type { TraceEvent } from '../../src/trace/events';
import { cgiRequest, fcgiRequest, item, processStart } from './fixtures';

/** untag: blessed's tags removed and its escapes undone: what the user sees. */
function untag(text: string): string {
  return text.replace(/\{(\/?[\w\-,;!#]*)\}/g, (m, name: string) => (name === 'open' ? '{' : name === 'close' ? '}' : ''));
}

function storeWith(events: TraceEvent[]): DashboardStore {
  const store = new DashboardStore();
  for (const e of events) store.ingest(item(e));
  return store;
}

describe('text helpers', () => {
  it('escapes blessed tags in one pass and strips terminal controls', () => {
    assert.equal(escapeTags('{bold}x{/bold}'), '{open}bold{close}x{open}/bold{close}');
    assert.equal(tagSafe('a\x1b[31m{red-fg}\nb'), 'a[31m{open}red-fg{close} b');
    assert.equal(untag(tagSafe('{open}')), '{open}');
  });

  it('fits, and formats bytes and durations compactly', () => {
    assert.equal(fit('abcdef', 4), 'abc…');
    assert.equal(fit('ab', 4), 'ab  ');
    assert.deepEqual([0, 999, 1234, 1_500_000].map(formatBytes), ['0B', '999B', '1.2kB', '1.5MB']);
    assert.deepEqual([0.44, 12.4, 1234, 75_000, undefined].map(formatDuration), ['0.4ms', '12ms', '1.23s', '1m15s', '-']);
  });
});

describe('views', () => {
  it('renders a request row in the width, hostile URI made harmless', () => {
    const store = storeWith(fcgiRequest({ uri: '/{bold}x\x1b[2J\x1b]0;t\x07', status: 503 }));
    const entry = store.requests.all()[0]!;
    for (const width of [80, 120, 200]) {
      const row = renderRow(entry, width, 'no');
      const seen = untag(row);
      assert.equal(seen.length, width, `width ${width}`);
      assert.ok(!row.includes('\x1b') && !row.includes('\x07'));
      assert.ok(row.includes('/{open}bold{close}x'), 'event text never becomes a tag');
      assert.match(seen, /GET +\/\{bold\}x\[2J\]0;t +503/);
    }
    assert.equal(pathWidth(80), 29);
  });

  it('renders the list with its column header and the selection', () => {
    const store = storeWith([...fcgiRequest({ n: 1 }), ...cgiRequest({ pid: 77, uri: '/cgi' })]);
    const lines = renderList(new ListModel(store), 80, 6, true).map(untag);
    assert.match(lines[0]!, /TIME +PID MODE METHOD +PATH +ST +TIME +BYTES/);
    assert.match(lines[1]!, /4242 fcgi GET +\/items\/1\?page=2 +200 +12ms +1\.2kB/);
    assert.match(lines[2]!, /77 cgi +GET +\/cgi +200/);
  });

  it('renders the header: listen address, stats, processes', () => {
    const store = storeWith([processStart(4242, 'fcgi'), ...fcgiRequest({ durationMs: 20 }), ...cgiRequest({ pid: 900, status: 500 })]);
    const [l1, l2, l3] = renderHeader(store, { listen: '/tmp/x.sock', width: 120, now: Date.now() }).map(untag);
    assert.match(l1!, /DUALCGI_TRACE=unix:\/tmp\/x\.sock .*events \d+ +dropped 0/);
    assert.match(l2!, /last min 2 req .* p50 12ms p95 20ms p99 20ms +4xx 0 5xx 1/);
    assert.match(l3!, /procs 1 live of 2: +900 cgi 1req now exited +4242 fcgi 1req now/);
    const empty = renderHeader(new DashboardStore(), { listen: '/tmp/x.sock', width: 160, now: Date.now() }).map(untag);
    assert.match(empty[2]!, /no process has connected yet: point the app here \(DUALCGI_TRACE, or a \.dualcgi-trace file next to its entry script\)/,
      'under Apache and lighttpd only the file reaches the app');
  });

  it('builds the detail: outcome, error stack, timeline, response head, log, meta-variables; secrets hidden', () => {
    const store = storeWith(fcgiRequest({ crash: true, body: 'a=1' }));
    const entry = store.requests.all()[0]!;
    // A secret the producers redact that the detail's own list left out (from a php-fpm behind `tap`).
    entry.params = [...entry.params, ['PHP_AUTH_PW', 's3cret-pw']];
    const lines = buildDetail(entry, { showSecrets: false, pretty: createPretty({ colorize: false, ignore: ['pid', 'rid'] }) });
    const text = lines.map((l) => l.text).join('\n');
    assert.match(text, /500 Internal Server Error/);
    assert.match(text, /ERROR: boom: database unreachable \(phase handler, rid 4242-1\)\n +Error: boom/);
    assert.match(text, /at handler \(\/srv\/app\/app\.js:12:11\)/);
    for (const type of ['BEGIN_REQUEST', 'PARAMS', 'STDIN', 'STDOUT', 'END_REQUEST']) assert.match(text, new RegExp(`${type} +id=1 len=`));
    assert.match(text, /→ in  BEGIN_REQUEST +id=1 len=8 pad=0 +RESPONDER KEEP_CONN/);
    assert.match(text, /← out END_REQUEST +id=1 len=8 pad=0 +appStatus=0 REQUEST_COMPLETE/);
    assert.match(text, /INFO: loaded item 1 \{"user":"ann"\}/);
    assert.match(text, /REQUEST_URI +\/items\/1\?page=2/);
    assert.match(text, /HTTP_COOKIE +\[hidden/);
    assert.match(text, /Set-Cookie: \[hidden/);
    assert.ok(!text.includes('s3cret'));
    const shown = buildDetail(entry, { showSecrets: true, pretty: (e) => String(e['msg']) }).map((l) => l.text).join('\n');
    assert.match(shown, /HTTP_COOKIE +session=s3cret/);
    const stdin = lines.find((l) => l.record?.type === 'STDIN');
    assert.equal(stdin?.record?.preview, 'a=1');
    assert.equal(untag(paintDetailLine({ text: '{red-fg}x', style: 'error' }, 10, false)), ' {red-fg}x');
  });

  it('shows a record as text and hex, decoding escaped preview bytes', () => {
    assert.deepEqual([...previewBytes('a\\x00\\xffb\\r\\n\\\\')], [0x61, 0, 0xff, 0x62, 13, 10, 0x5c]);
    assert.deepEqual(hexDump(Buffer.from('Status: 200\r\n'), 8), ['00000000  53 74 61 74 75 73 3a 20  |Status: |', '00000008  32 30 30 0d 0a           |200..|']);
    const lines = recordPopupLines({ time: 0, dir: 'out', type: 'STDOUT', requestId: 1, contentLength: 100, paddingLength: 4, preview: 'Status: 200 OK\r\n\r\nhi' }, 80);
    const text = lines.map((l) => l.text).join('\n');
    assert.match(text, /first 20 of 100 bytes/);
    assert.match(text, /Status: 200 OK\n\nhi/);
    assert.match(text, /00000000  53 74 61 74 75 73 3a 20 32 30 30 20 4f 4b 0d 0a {2}\|Status: 200 OK\.\.\|/);
  });

  it('lays out 80x24 stacked, 160x50 side by side, and refuses below 40x12', () => {
    const small = computeLayout(80, 24);
    assert.deepEqual([small.list.height, small.detail.height, small.log.height, small.wide], [7, 10, 3, false]);
    assert.equal(small.header.height + small.list.height + small.detail.height + small.log.height + small.footer.height, 24);
    const big = computeLayout(160, 50);
    assert.equal(big.wide, true);
    assert.equal(big.list.top, big.detail.top);
    assert.equal(big.list.width + big.detail.width, 160);
    assert.equal(computeLayout(30, 10).tooSmall, true);
  });
});

describe('DashboardApp on a fake terminal', () => {
  const apps: DashboardApp[] = [];
  after(() => {
    for (const app of apps) app.destroy();
  });

  function fakeTerminal(columns: number, rows: number): { input: PassThrough; output: Writable } {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    const output = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: true, columns, rows });
    return { input, output };
  }

  function screenText(app: DashboardApp): string[] {
    const lines = (app.screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    return lines.map((row) => row.map((cell) => cell[1]).join('').trimEnd());
  }

  it('draws every pane from the store, then follows key presses', () => {
    const store = storeWith([processStart(4242, 'fcgi'), ...fcgiRequest({ n: 1 }), ...fcgiRequest({ n: 2, crash: true, uri: '/{bold}boom' }), ...cgiRequest({ pid: 900, uri: '/cgi/x' })]);
    store.ingest({ kind: 'text', text: 'junk \x1b[31m line' });
    const quits: number[] = [];
    const app = new DashboardApp(store, { ...fakeTerminal(100, 30), terminal: 'xterm-256color', listen: '/tmp/fake.sock', showSecrets: false, onQuit: () => quits.push(1) });
    apps.push(app);
    app.scheduler.flush();
    const screen = screenText(app);
    const all = screen.join('\n');
    assert.match(screen[0]!, /DUALCGI_TRACE=unix:\/tmp\/fake\.sock/);
    assert.match(all, /4242 fcgi GET {4}! \/\{bold\}boom +500/);
    assert.match(all, /900 cgi +GET +\/cgi\/x +200/);
    assert.match(all, /records: none: CGI passes/, 'the newest (CGI) request is selected');
    assert.match(all, /\(not a trace event\) junk \[31m line/);
    assert.ok(!all.includes('\x1b'));
    app.screen.emit('keypress', 'k', { name: 'k' });
    app.scheduler.flush();
    const after = screenText(app).join('\n');
    assert.match(after, /Error: boom: database unreachable/);
    assert.match(after, /BEGIN_REQUEST/);
    app.screen.emit('keypress', 'q', { name: 'q' });
    assert.deepEqual(quits, [1]);
  });

  it('x: the popup says where the export went, titled as an export (not as record content)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-views-export-'));
    try {
      const store = storeWith(fcgiRequest());
      const app = new DashboardApp(store, { ...fakeTerminal(120, 40), terminal: 'xterm-256color', listen: '/tmp/f.sock', showSecrets: false,
        onQuit: () => {}, exportDir: dir });
      apps.push(app);
      app.scheduler.flush();
      app.screen.emit('keypress', 'x', { name: 'x' });
      app.scheduler.flush();
      const all = screenText(app).join('\n');
      assert.match(all, /─ export · any key closes ─/);
      assert.doesNotMatch(all, /record content/);
      assert.match(all, /exported request 4242-1:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('survives a resize to 80x24 and to a too-small terminal', () => {
    const store = storeWith(fcgiRequest());
    const term = fakeTerminal(160, 50);
    const app = new DashboardApp(store, { ...term, terminal: 'xterm-256color', listen: '/tmp/f.sock', showSecrets: false, onQuit: () => {} });
    apps.push(app);
    app.scheduler.flush();
    for (const [c, r] of [[80, 24], [30, 8], [120, 40]] as const) {
      Object.assign(term.output, { columns: c, rows: r });
      term.output.emit('resize');
      app.screen.emit('resize');
      app.scheduler.flush();
      const text = screenText(app);
      assert.ok(text.every((l) => l.length <= c), `${c}x${r}`);
      if (c === 30) assert.match(text.join('\n'), /too small;\nthe dashboard needs 40x12/);
      else assert.match(text.join('\n'), /GET +\/items\/1\?page=2/);
    }
  });
});
