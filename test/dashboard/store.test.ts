import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DashboardStore } from '../../src/dashboard/store/dashboard-store';
import { percentile, RollingStats } from '../../src/dashboard/store/stats';
import { Ring } from '../../src/dashboard/store/ring';
import { ProcessTable } from '../../src/dashboard/store/processes';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import type { TraceEvent } from '../../src/trace/events';
import { cgiRequest, fcgiRequest, item, ndjson, processStart } from './fixtures';
import { groupLine, noteLine, type ParamsWire, RequestGroup } from '../../src/trace/request-group';
import { REDACTED } from '../../src/trace/redact';
import { helloNotes } from '../trace/notes-fixture';
import type { GroupItem } from '../../src/trace/group-scan';
import type { RequestEntry } from '../../src/dashboard/store/requests';
import { buildDetail } from '../../src/dashboard/views/detail';
import { WireMirror, wireLine } from '../../src/trace/wire-mirror';
import { request as wireRequest, respond as wireRespond } from '../trace/wire-fixture';

/** whole: an entry's fields, its lists (read when asked for) included. */
function whole(e: RequestEntry): Record<string, unknown> {
  return { ...e, method: e.method, uri: e.uri, url: e.url, mountPoint: e.mountPoint, records: e.records, recordsOmitted: e.recordsOmitted, params: e.params,
    headers: e.headers, logs: e.logs, errors: e.errors };
}

function helloLine(rid: string, uri: string): string {
  const notes = helloNotes({ rid, uri });
  const g = new RequestGroup(notes[0]!);
  for (const n of notes) g.add(n);
  return groupLine(g);
}

function feed(store: DashboardStore, events: TraceEvent[], now = Date.now()): void {
  for (const e of events) store.ingest(item(e), now);
}

describe('Ring', () => {
  it('keeps the last N and returns what it evicts', () => {
    const ring = new Ring<number>(3);
    assert.equal(ring.push(1), undefined);
    ring.push(2);
    ring.push(3);
    assert.equal(ring.push(4), 1);
    assert.deepEqual(ring.toArray(), [2, 3, 4]);
    assert.equal(ring.at(0), 2);
    assert.equal(ring.last(), 4);
    ring.clear();
    assert.equal(ring.size, 0);
  });
});

describe('RequestStore through DashboardStore', () => {
  it('bounds the ring to maxRequests and forgets evicted rids', () => {
    const store = new DashboardStore({ maxRequests: 5 });
    for (let n = 1; n <= 8; n++) feed(store, fcgiRequest({ n }));
    const rids = store.requests.all().map((e) => e.rid);
    assert.deepEqual(rids, ['4242-4', '4242-5', '4242-6', '4242-7', '4242-8']);
    assert.equal(store.requests.get('4242-1'), undefined);
  });

  it('drops (and counts) late events of an evicted request instead of resurrecting it', () => {
    const store = new DashboardStore({ maxRequests: 2 });
    const late = fcgiRequest({ n: 1 }).at(-1)!;
    for (let n = 1; n <= 3; n++) feed(store, fcgiRequest({ n }));
    feed(store, [late]);
    assert.equal(store.requests.get('4242-1'), undefined);
    assert.equal(store.dropped(), 1);
  });

  it('fills a request from a grouped line as from a line per event', () => {
    const notes = helloNotes({ rid: 'd-1', uri: '/grouped?a=1' });
    const g = new RequestGroup(notes[0]!);
    for (const n of notes) g.add(n);
    const fromGroup = new DashboardStore();
    const fromSummary = new DashboardStore();
    const fromLines = new DashboardStore();
    const now = Date.now();
    new NdjsonReader((i) => fromGroup.ingest(i, now)).push(groupLine(g));
    new NdjsonReader<ReadItem | GroupItem>((i) => fromSummary.ingest(i, now), { summaries: true }).push(groupLine(g));
    new NdjsonReader((i) => fromLines.ingest(i, now)).push(notes.map(noteLine).join(''));
    const entry = fromGroup.requests.get('d-1')!;
    assert.deepEqual(entry.records.map((r) => r.type), ['BEGIN_REQUEST', 'PARAMS', 'PARAMS', 'STDOUT', 'STDIN', 'STDOUT', 'END_REQUEST']);
    assert.equal(entry.uri, '/grouped?a=1');
    assert.equal(entry.status, 200);
    assert.ok(entry.params.some(([n, v]) => n === 'HTTP_COOKIE' && v === REDACTED), 'secrets stay redacted');
    const expected = whole(fromLines.requests.get('d-1')!);
    assert.deepEqual(whole(entry), expected);
    assert.deepEqual(whole(fromSummary.requests.get('d-1')!), expected, 'from the summary, once read');
    for (const store of [fromGroup, fromSummary]) {
      assert.deepEqual(store.counters, fromLines.counters);
      assert.deepEqual(store.processes.get(entry.pid), fromLines.processes.get(entry.pid));
      assert.deepEqual(store.stats.snapshot(now), fromLines.stats.snapshot(now));
    }
  });

  it('fills requests whose params came as changes from the connection\'s base, read in any order, as from a line per event', () => {
    const wire: ParamsWire = { sent: undefined };
    const specs = [{ rid: 'b-1', uri: '/b1' }, { rid: 'b-2', uri: '/b2' }, { rid: 'b-3', uri: '/b3' }];
    const notes = specs.map((spec) => helloNotes(spec));
    const text = notes.map((n) => {
      const g = new RequestGroup(n[0]!);
      for (const note of n) g.add(note);
      return groupLine(g, wire);
    }).join('');
    assert.ok(text.includes('"paramsBase"') && text.includes('"paramsDelta"'));
    const now = Date.now();
    const fromSummary = new DashboardStore();
    const fromGroup = new DashboardStore();
    const fromLines = new DashboardStore();
    new NdjsonReader<ReadItem | GroupItem>((i) => fromSummary.ingest(i, now), { summaries: true }).push(text);
    new NdjsonReader((i) => fromGroup.ingest(i, now)).push(text);
    new NdjsonReader((i) => fromLines.ingest(i, now)).push(notes.flat().map(noteLine).join(''));
    for (const rid of ['b-3', 'b-1', 'b-2']) { // the last opened first: each rebuilt from the base it came with
      const expected = whole(fromLines.requests.get(rid)!);
      assert.deepEqual((expected['params'] as Array<[string, string]>)[1], ['REQUEST_URI', `/${rid.replace('-', '')}`]);
      assert.deepEqual(whole(fromSummary.requests.get(rid)!), expected, `${rid} from the summary`);
      assert.deepEqual(whole(fromGroup.requests.get(rid)!), expected, `${rid} from the group`);
    }
  });

  it('keeps a whole request from a summary unread until its records, params or headers are asked for', () => {
    const store = new DashboardStore();
    const reader = new NdjsonReader<ReadItem | GroupItem>((i) => store.ingest(i), { summaries: true });
    reader.push(helloLine('d-2', '/lazy'));
    const entry = store.requests.get('d-2')!;
    assert.equal(entry.unread, true);
    assert.deepEqual([entry.method, entry.uri, entry.status, entry.done], ['GET', '/lazy', 200, true]);
    assert.equal(entry.headers.length > 0, true);
    assert.equal(entry.unread, false);
    assert.equal(entry.records.length, 7);
  });

  it('reads an unread request before a later event of it changes its records', () => {
    const store = new DashboardStore();
    const reader = new NdjsonReader<ReadItem | GroupItem>((i) => store.ingest(i), { summaries: true });
    const notes = helloNotes({ rid: 'd-3', uri: '/late' });
    const late = notes.pop()!;
    const g = new RequestGroup(notes[0]!);
    for (const n of notes) g.add(n);
    reader.push(groupLine(g));
    assert.equal(store.requests.get('d-3')!.unread, true);
    reader.push(noteLine(late));
    const entry = store.requests.get('d-3')!;
    assert.deepEqual(entry.records.map((r) => r.type).slice(-2), ['STDOUT', 'END_REQUEST'], 'the line first, then the late record');
    assert.equal(entry.records.length, 7);
  });

  it('a stream of whole requests larger than the ring between two reads: the last ones kept in order, late events of the rest dropped', () => {
    const store = new DashboardStore({ maxRequests: 10 });
    const reader = new NdjsonReader<ReadItem | GroupItem>((i) => store.ingest(i), { summaries: true });
    let text = '';
    for (let i = 1; i <= 45; i++) text += helloLine(`f-${i}`, `/f${i}`);
    reader.push(text); // 45 requests, nothing read in between: most never become entries
    assert.deepEqual(store.requests.all().map((e) => e.rid), Array.from({ length: 10 }, (_, k) => `f-${36 + k}`));
    const seqs = store.requests.all().map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(store.requests.get('f-3'), undefined);
    assert.equal(store.counters.events, 45 * 9);
    assert.equal(store.stats.snapshot(Date.now()).total, 45);
    for (const rid of ['f-1', 'f-30', 'f-35']) {
      reader.push(ndjson([{ ev: 'app.log', level: 30, time: 1, pid: 1, rid, msg: 'late' } as unknown as TraceEvent]));
    }
    assert.equal(store.requests.dropped, 3, 'late events of skipped requests are dropped, not resurrected');
    assert.equal(store.requests.size, 10);
    assert.equal(store.requests.get('f-45')!.records.length, 7);
  });

  it('marks a request whose line turns out not to be well formed past its summary, instead of failing', () => {
    const store = new DashboardStore();
    const line = helloLine('d-4', '/broken').replace('"params":[', '"params":[[1],');
    new NdjsonReader<ReadItem | GroupItem>((i) => store.ingest(i), { summaries: true }).push(line);
    const entry = store.requests.get('d-4')!;
    assert.equal(entry.status, 200);
    assert.deepEqual([entry.records.length, entry.params.length, entry.unreadable], [0, 0, true]);
    assert.ok(buildDetail(entry, { showSecrets: false, pretty: (o) => String(o['msg']) }).some((l) => l.text.includes('not well formed')));
  });

  it('attaches interleaved records to their own request by rid', () => {
    const store = new DashboardStore();
    const a = fcgiRequest({ n: 1, requestId: 1, uri: '/a' });
    const b = fcgiRequest({ n: 2, requestId: 2, uri: '/b', body: 'x=1' });
    const mixed: TraceEvent[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) mixed.push(...(a[i] ? [a[i]!] : []), ...(b[i] ? [b[i]!] : []));
    feed(store, mixed);
    const ea = store.requests.get('4242-1')!;
    const eb = store.requests.get('4242-2')!;
    assert.deepEqual(ea.records.map((r) => r.type), ['BEGIN_REQUEST', 'PARAMS', 'PARAMS', 'STDIN', 'STDOUT', 'STDOUT', 'END_REQUEST']);
    assert.ok(ea.records.every((r) => r.requestId === 1));
    assert.equal(eb.records.filter((r) => r.type === 'STDIN').length, 2);
    assert.ok(eb.records.every((r) => r.requestId === 2));
    assert.equal(ea.uri, '/a');
    assert.equal(eb.uri, '/b');
    assert.equal(ea.status, 200);
    assert.equal(ea.logs.length, 1);
  });

  it('puts a record that comes after its request ended (no rid) on that request, until the id is reused', () => {
    const store = new DashboardStore();
    const events = fcgiRequest({ n: 1, requestId: 3 });
    const stdin = events.find((e) => e.ev === 'record' && e.type === 'STDIN')!;
    feed(store, events.filter((e) => e !== stdin));
    const late = { ...stdin } as Record<string, unknown>;
    delete late['rid'];
    feed(store, [late as unknown as TraceEvent]);
    assert.equal(store.requests.get('4242-1')!.records.at(-1)!.type, 'STDIN');
    feed(store, fcgiRequest({ n: 2, requestId: 3 }).slice(0, 1));
    feed(store, [late as unknown as TraceEvent]);
    assert.equal(store.requests.get('4242-2')!.records.length, 2, 'the id now names the next request');
    feed(store, [{ ...late, requestId: 0, type: 'GET_VALUES' } as unknown as TraceEvent]);
    assert.equal(store.logs.last()!.kind, 'process', 'a management record goes to the log');
  });

  it('creates the request from its first record, before request.start (BEGIN_REQUEST comes first)', () => {
    const store = new DashboardStore();
    const events = fcgiRequest({ n: 1, method: 'PUT', uri: '/x' });
    feed(store, events.slice(0, 2));
    const entry = store.requests.get('4242-1')!;
    assert.equal(entry.done, false);
    assert.equal(entry.method, 'PUT', 'taken from the PARAMS record');
    assert.equal(entry.uri, '/x');
  });

  it('keeps CGI hits apart: each its own pid and process, no records', () => {
    const store = new DashboardStore();
    feed(store, [...cgiRequest({ pid: 501, uri: '/one' }), ...cgiRequest({ pid: 502, uri: '/two' }), ...cgiRequest({ pid: 503, uri: '/three', crash: true })]);
    const entries = store.requests.all();
    assert.deepEqual(entries.map((e) => [e.pid, e.mode, e.uri, e.records.length]), [[501, 'cgi', '/one', 0], [502, 'cgi', '/two', 0], [503, 'cgi', '/three', 0]]);
    assert.equal(entries[2]!.errors.length, 1);
    assert.equal(store.processes.size, 3);
    assert.equal(store.processes.live(), 0, 'each CGI process said it exited');
    assert.ok(store.processes.recent().every((p) => p.mode === 'cgi' && p.requests === 1));
  });

  it('ends the requests still open of a process that exits, as aborted with an error saying why; others stay as they were', () => {
    const store = new DashboardStore();
    const [start7] = fcgiRequest({ pid: 7, n: 1, uri: '/dies' }).filter((e) => e.ev === 'request.start');
    const [start8] = fcgiRequest({ pid: 8, n: 1, uri: '/lives' }).filter((e) => e.ev === 'request.start');
    feed(store, [processStart(7, 'fcgi'), ...fcgiRequest({ pid: 7, n: 2, uri: '/done' }), start7!, start8!]);
    feed(store, [{ level: 50, time: start7!.time + 40, pid: 7, msg: 'exit', ev: 'process.exit', mode: 'fcgi', reason: 'exit code 3', code: 3 } as TraceEvent]);
    const dies = store.requests.get('7-1')!;
    assert.equal(dies.done, true);
    assert.equal(dies.aborted, true);
    assert.equal(dies.durationMs, 40);
    assert.match(String(dies.errors[0]!.event['msg']), /process 7 ended before this request did: exit code 3/);
    const done = store.requests.get('7-2')!;
    assert.equal(done.aborted, false);
    assert.equal(done.errors.length, 0);
    assert.equal(store.requests.get('8-1')!.done, false, 'another process\'s request stays open');
  });

  it('bounds records per request, keeping the control records of a big upload', () => {
    const store = new DashboardStore();
    const [begin] = fcgiRequest({ n: 1 });
    feed(store, [begin!]);
    const stdin = { ...begin!, type: 'STDIN', contentLength: 65535, preview: 'x' } as TraceEvent;
    for (let i = 0; i < 1000; i++) feed(store, [stdin]);
    feed(store, [{ ...begin!, type: 'END_REQUEST', dir: 'out', appStatus: 0, protocolStatus: 'REQUEST_COMPLETE' } as TraceEvent]);
    const entry = store.requests.get('4242-1')!;
    assert.equal(entry.records.length, 401);
    assert.equal(entry.records.at(-1)!.type, 'END_REQUEST');
    assert.equal(entry.recordsOmitted, 601, 'BEGIN_REQUEST and 399 STDIN kept');
  });

  it('puts app logs and errors in the global log, and logs without rid only there', () => {
    const store = new DashboardStore();
    feed(store, [processStart(7, 'fcgi'), ...fcgiRequest({ pid: 7, crash: true })]);
    store.ingest({ kind: 'event', event: { level: 30, time: 1, pid: 7, msg: 'startup done', ev: 'app.log', stream: 'log' } as never });
    const kinds = store.logs.toArray().map((l) => l.kind);
    assert.deepEqual(kinds, ['process', 'log', 'error', 'log']);
    assert.equal(store.requests.get('7-1')!.errors[0]!.event['phase'], 'handler');
  });

  it('counts lines that are not events, and clears everything on clear()', () => {
    const store = new DashboardStore();
    store.ingest({ kind: 'text', text: 'not json' });
    feed(store, fcgiRequest());
    assert.equal(store.counters.textLines, 1);
    const version = store.version;
    store.clear();
    assert.equal(store.requests.size, 0);
    assert.equal(store.logs.size, 0);
    assert.equal(store.stats.snapshot(Date.now()).total, 0);
    assert.ok(store.version > version);
  });
});

describe('hostile input', () => {
  it('survives wrong types in every field', () => {
    const store = new DashboardStore();
    const weird = [
      { ev: 'record', rid: 'r1', pid: 'x', type: { a: 1 }, params: 'nope', preview: 42, time: 'later' },
      { ev: 'request.start', rid: 'r1', method: ['GET'], uri: null, params: [[1, 2], 'x', [null]] },
      { ev: 'request.end', rid: 'r1', status: '200', durationMs: NaN, headers: {} },
      { ev: 'app.log', rid: 7, msg: { nested: true } },
      { ev: 'error', stack: 12 },
      { ev: 'mystery' },
      { ev: 'process.start', pid: -1, reason: {} },
    ];
    for (const w of weird) store.ingest({ kind: 'event', event: w as never });
    const entry = store.requests.get('r1')!;
    assert.equal(entry.method, '');
    assert.equal(entry.status, undefined);
    assert.deepEqual(entry.params, [['1', '2']]);
    assert.equal(store.counters.unknown, 1);
  });

  it('cuts huge fields and huge log events at ingest', () => {
    const store = new DashboardStore();
    const big = 'A'.repeat(500_000);
    const [begin] = fcgiRequest();
    store.ingest(item({ ...begin!, type: 'STDIN', preview: big } as TraceEvent));
    store.ingest({ kind: 'event', event: { level: 30, time: 1, pid: 1, ev: 'app.log', stream: 'log', msg: big, blob: big } as never });
    assert.ok(store.requests.get('4242-1')!.records[0]!.preview!.length < 20_000);
    const log = store.logs.last()!;
    assert.ok(JSON.stringify(log.event).length < 10_000);
    assert.match(String(log.event['msg']), /event of \d+ bytes cut/);
  });

  it('reads a 2 MB line, ESC sequences and {bold} text through the reader without harm', () => {
    const store = new DashboardStore();
    const items: ReadItem[] = [];
    const reader = new NdjsonReader((i) => items.push(i));
    // As a socket delivers it: in chunks of 64 KiB.
    const huge = Buffer.from(`${'{"ev":"app.log","msg":"'}${'x'.repeat(2 * 1024 * 1024)}"}\n`);
    for (let off = 0; off < huge.length; off += 65536) reader.push(huge.subarray(off, off + 65536));
    reader.push('\x1b]0;pwned\x07\x1b[2J plain text\n');
    reader.push(ndjson(fcgiRequest({ uri: '/{bold}x\x1b[31m' })));
    for (const i of items) store.ingest(i);
    assert.equal(items[0]!.kind, 'text');
    assert.equal(items[1]!.kind, 'text');
    assert.ok(!(items[1] as { text: string }).text.includes('\x1b'));
    assert.equal(store.requests.size, 1);
    assert.equal(store.counters.textLines, 2);
  });
});

describe('RollingStats', () => {
  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 95), 95);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([], 50), undefined);
  });

  it('gives rate, p50/p95/p99 and 4xx/5xx over the last minute only', () => {
    const stats = new RollingStats();
    const t0 = 1_000_000_000;
    for (let i = 1; i <= 100; i++) stats.add(t0 + i * 100, i, i <= 3 ? 404 : i <= 5 ? 503 : 200);
    const s = stats.snapshot(t0 + 10_100);
    assert.deepEqual([s.count, s.p50, s.p95, s.p99, s.window4xx, s.window5xx], [100, 50, 95, 99, 3, 2]);
    assert.equal(s.rate, 10);
    const later = stats.snapshot(t0 + 75_000);
    assert.equal(later.count, 0);
    assert.equal(later.p50, undefined);
    assert.deepEqual([later.total, later.total4xx, later.total5xx], [100, 3, 2], 'totals outlive the window');
  });

  it('samples a busy second instead of keeping every duration', () => {
    const stats = new RollingStats({ samplesPerSecond: 50 });
    for (let i = 0; i < 5000; i++) stats.add(2_000_000_000, 10, 200);
    const s = stats.snapshot(2_000_000_000);
    assert.equal(s.count, 5000);
    assert.equal(s.p99, 10);
  });

  it('feeds from request.end events in the store', () => {
    const store = new DashboardStore();
    const now = Date.now();
    feed(store, [...fcgiRequest({ n: 1, durationMs: 10 }), ...fcgiRequest({ n: 2, durationMs: 30, status: 502 })], now);
    const s = store.stats.snapshot(now);
    assert.deepEqual([s.count, s.p50, s.p99, s.window5xx], [2, 10, 30, 1]);
  });
});

describe('ProcessTable', () => {
  it('keeps the most recently seen processes when CGI hits pile up', () => {
    const table = new ProcessTable(10);
    for (let pid = 1; pid <= 25; pid++) table.touch({ pid, mode: 'cgi' }, pid);
    assert.equal(table.size, 10);
    assert.deepEqual(table.recent().map((p) => p.pid).slice(0, 3), [25, 24, 23]);
    assert.equal(table.get(1), undefined);
  });

  it('orders by last event, whether a pid repeats in a row or comes back later', () => {
    const table = new ProcessTable(3);
    for (const pid of [1, 2, 2, 2, 3, 1, 1, 2]) table.touch({ pid, mode: 'fcgi' }, pid);
    assert.deepEqual(table.recent().map((p) => p.pid), [2, 1, 3]);
    table.touch({ pid: 4, mode: 'fcgi' }, 9); // evicts the least recent: 3
    assert.deepEqual(table.recent().map((p) => p.pid), [4, 2, 1]);
    table.touch({ pid: 1, mode: 'fcgi' }, 10);
    assert.deepEqual(table.recent().map((p) => p.pid), [1, 4, 2]);
  });

  it('sums what producers say they dropped', () => {
    const table = new ProcessTable();
    table.touch({ pid: 1, dropped: 3 }, 1);
    table.touch({ pid: 1, dropped: 5 }, 2);
    table.touch({ pid: 2, dropped: 1 }, 3);
    assert.equal(table.droppedTotal(), 6);
  });
});

describe('DashboardStore fed wire lines (the FastCGI traffic a worker mirrors: trace/wire-mirror.ts)', () => {
  it('a stream of wire requests larger than the ring between two reads: the last ones kept in order, their method and uri read when asked for', () => {
    const m = new WireMirror();
    const store = new DashboardStore({ maxRequests: 10 });
    const reader = new NdjsonReader<ReadItem | GroupItem>((i) => store.ingest(i, 1000), { summaries: true });
    for (let line = 0; line < 3; line++) {
      for (let k = 1; k <= 15; k++) {
        wireRequest(m, 1 + (k % 3), line * 15 + k, 1);
        wireRespond(m, 1 + (k % 3), line * 15 + k, 1);
      }
      reader.push(wireLine(m.take(), 77, 'fcgi')); // 45 requests in three lines, nothing read in between
    }
    const kept = store.requests.all();
    assert.deepEqual(kept.map((e) => e.rid), Array.from({ length: 10 }, (_, k) => `77-${36 + k}`));
    assert.deepEqual(kept.map((e) => e.seq), [...kept.map((e) => e.seq)].sort((a, b) => a - b));
    for (const e of kept) {
      assert.deepEqual([e.method, e.uri, e.url, e.status, e.records.length], ['POST', '/app/things?x=1', '/things?x=1', 404, 7], e.rid);
    }
    assert.equal(store.stats.snapshot(1000).total, 45);
    for (const rid of ['77-1', '77-30', '77-35', '77-40']) {
      reader.push(ndjson([{ ev: 'app.log', level: 30, time: 1, pid: 77, rid, msg: 'late' } as unknown as TraceEvent]));
    }
    assert.equal(store.requests.dropped, 3, 'late events of requests pushed out unseen are dropped, not resurrected');
    assert.equal(store.requests.get('77-40')!.logs.length, 1);
    // A later event that sets the method of an entry whose method was not read yet wins.
    const later = store.requests.get('77-41')!;
    store.ingest(item({ ev: 'request.start', level: 30, time: 2, pid: 77, rid: '77-41', mode: 'fcgi', requestId: 1, method: 'GET', uri: '/again',
      url: '/again', mountPoint: '', role: 'RESPONDER', params: [] } as unknown as TraceEvent), 1000);
    assert.deepEqual([later.method, later.uri, later.url], ['GET', '/again', '/again']);
  });

  it('gives each entry lists of its own, made when first asked for: a log, an error or a record of one is in no other', () => {
    const m = new WireMirror();
    for (const rid of [51, 52, 53]) {
      wireRequest(m, 1, rid, 1);
      wireRespond(m, 1, rid, 1);
    }
    const store = new DashboardStore();
    new NdjsonReader<ReadItem | GroupItem>((i) => store.ingest(i, 1000), { summaries: true }).push(wireLine(m.take(), 9, 'fcgi'));
    const [a, b, c] = ['9-51', '9-52', '9-53'].map((rid) => store.requests.get(rid)!);
    store.ingest(item({ ev: 'app.log', level: 30, time: 1, pid: 9, rid: '9-51', msg: 'one' } as unknown as TraceEvent), 1000);
    store.ingest(item({ ev: 'error', level: 50, time: 1, pid: 9, rid: '9-52', msg: 'two' } as unknown as TraceEvent), 1000);
    store.ingest(item({ ev: 'record', level: 20, time: 2, pid: 9, rid: '9-53', mode: 'fcgi', conn: 1, dir: 'in', type: 'STDIN', requestId: 1,
      contentLength: 0, paddingLength: 0 } as unknown as TraceEvent), 1000);
    assert.deepEqual([a!.logs.length, b!.logs.length, c!.logs.length], [1, 0, 0]);
    assert.deepEqual([a!.errors.length, b!.errors.length, c!.errors.length], [0, 1, 0]);
    assert.deepEqual([a!.records.length, b!.records.length, c!.records.length], [7, 7, 8]);
    assert.equal(a!.logs[0]!.event['msg'], 'one');
    assert.notEqual(a!.params, b!.params);
    assert.deepEqual(a!.params, b!.params);
    assert.deepEqual([a!.headers.length > 0, a!.headers === b!.headers], [true, false]);
  });

  it('keeps a request of one line as an entry, its records, params and headers read when opened, as fed event by event', () => {
    const m = new WireMirror();
    wireRequest(m, 1, 31, 1);
    wireRespond(m, 1, 31, 1);
    const line = wireLine(m.take(), 4321, 'fcgi');
    const summarised = new DashboardStore();
    new NdjsonReader<ReadItem | GroupItem>((i) => summarised.ingest(i, 1000), { summaries: true }).push(line);
    const byEvent = new DashboardStore();
    new NdjsonReader((i: ReadItem) => byEvent.ingest(i, 1000)).push(line);
    const a = summarised.requests.get('4321-31')!;
    const b = byEvent.requests.get('4321-31')!;
    assert.ok(a.unread, 'kept unread until asked for');
    for (const key of ['method', 'uri', 'url', 'mountPoint', 'role', 'status', 'bytesIn', 'bytesOut', 'done', 'aborted'] as const) {
      assert.equal(a[key], b[key], key);
    }
    assert.equal(a.status, 404);
    assert.deepEqual(a.records, b.records);
    assert.deepEqual(a.params, b.params);
    assert.deepEqual(a.headers, b.headers);
    assert.ok(a.params.some(([n, v]) => n === 'HTTP_COOKIE' && v === REDACTED));
    const [sa, sb] = [summarised.stats.snapshot(1000), byEvent.stats.snapshot(1000)];
    assert.deepEqual([sa.count, sa.window4xx], [1, 1]);
    assert.deepEqual([sb.count, sb.window4xx], [1, 1]);
  });
});
