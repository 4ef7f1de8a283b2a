import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTracing, publish, publishNote, publishRaw, subscribe } from '../../src/trace/channel';
import type { TraceEvent } from '../../src/trace/events';
import { listenForTraces } from '../../src/trace/listener';
import type { ReadItem } from '../../src/trace/reader';
import { createSink, serialize } from '../../src/trace/sink';
import { currentMirror } from '../../src/trace/wire-mirror';
import { encodePairs } from '../../src/protocol';
import { parseTraceTarget } from '../../src/trace/target';
import { resolveTraceTarget, TRACE_FILE } from '../../src/trace/install';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { noteLine } from '../../src/trace/request-group';
import { helloNotes, publishHello } from './notes-fixture';

const dir = mkdtempSync(join(tmpdir(), 'dualcgi-trace-'));

describe('trace channel', () => {
  it('is off until someone subscribes, and a published event is exactly what the subscriber gets', () => {
    assert.equal(isTracing(), false);
    const got: unknown[] = [];
    const off = subscribe((m) => got.push(m));
    assert.equal(isTracing(), true);
    publish({ ev: 'conn.open', mode: 'fcgi', conn: 7, peer: 'unix', msg: 'connection 7 opened' });
    publishRaw('{"level":30,"msg":"raw"}\n');
    off();
    assert.equal(isTracing(), false);
    const e = got[0] as TraceEvent;
    assert.deepEqual(Object.keys(e).sort(), ['conn', 'ev', 'level', 'mode', 'msg', 'peer', 'pid', 'time']);
    assert.equal(e.level, 30);
    assert.equal(e.pid, process.pid);
    assert.ok(Math.abs(e.time - Date.now()) < 5000);
    assert.deepEqual(got[1], { raw: '{"level":30,"msg":"raw"}\n' });
    assert.equal(serialize(got[1] as { raw: string }), '{"level":30,"msg":"raw"}\n');
    assert.equal(JSON.parse(serialize(e)).conn, 7);
  });
});

describe('trace targets', () => {
  it('parses every target form and names a bad one', () => {
    assert.deepEqual(parseTraceTarget('unix:/a.sock'), { kind: 'unix', path: '/a.sock' });
    assert.deepEqual(parseTraceTarget('file:/a.ndjson'), { kind: 'file', path: '/a.ndjson' });
    assert.deepEqual(parseTraceTarget('stderr'), { kind: 'stderr' });
    assert.deepEqual(parseTraceTarget(''), { kind: 'off' });
    assert.throws(() => parseTraceTarget('tcp:1.2.3.4:5'), { code: 'TRACE_ERR_TARGET' });
  });

  it('takes the option, then DUALCGI_TRACE, then .dualcgi-trace next to the script', () => {
    const scriptDir = mkdtempSync(join(dir, 'script-'));
    const saved = process.env['DUALCGI_TRACE'];
    delete process.env['DUALCGI_TRACE'];
    try {
      assert.equal(resolveTraceTarget(undefined, scriptDir).source, 'default');
      writeFileSync(join(scriptDir, TRACE_FILE), 'unix:/tmp/from-file.sock\n');
      assert.deepEqual(resolveTraceTarget(undefined, scriptDir).target, { kind: 'unix', path: '/tmp/from-file.sock' });
      process.env['DUALCGI_TRACE'] = 'stderr';
      assert.deepEqual(resolveTraceTarget(undefined, scriptDir).target, { kind: 'stderr' });
      assert.deepEqual(resolveTraceTarget('off', scriptDir).target, { kind: 'off' });
    } finally {
      if (saved === undefined) delete process.env['DUALCGI_TRACE'];
      else process.env['DUALCGI_TRACE'] = saved;
    }
  });
});

describe('sinks', () => {
  it('a file sink appends lines and rotates past its size', async () => {
    const path = join(dir, 'trace.ndjson');
    const sink = createSink({ kind: 'file', path }, { maxFileBytes: 300 });
    for (let i = 0; i < 5; i++) publish({ ev: 'conn.open', mode: 'fcgi', conn: i, msg: `connection ${i} opened` });
    sink.close();
    assert.ok(existsSync(`${path}.1`), 'rotated');
    const lines = [...readFileSync(`${path}.1`, 'utf8').split('\n'), ...readFileSync(path, 'utf8').split('\n')].filter(Boolean);
    assert.deepEqual(lines.map((l) => JSON.parse(l).conn), [0, 1, 2, 3, 4].slice(5 - lines.length));
  });

  it('a file sink whose folder is gone keeps its descriptor when rotating, and never writes into a reused one', () => {
    const gone = mkdtempSync(join(tmpdir(), 'dualcgi-trace-gone-'));
    const path = join(gone, 'trace.ndjson');
    const sink = createSink({ kind: 'file', path }, { maxFileBytes: 200 });
    rmSync(gone, { recursive: true, force: true }); // the open file lives on; its folder does not
    for (let i = 0; i < 3; i++) publish({ ev: 'conn.open', mode: 'fcgi', conn: i, msg: `connection ${i} opened` });
    // The rotation could not open a new file. A descriptor opened now must not receive trace lines.
    const other = join(dir, 'unrelated.txt');
    const fd = openSync(other, 'w');
    for (let i = 3; i < 6; i++) publish({ ev: 'conn.open', mode: 'fcgi', conn: i, msg: `connection ${i} opened` });
    let closedBySink = false;
    try {
      closeSync(fd);
    } catch {
      closedBySink = true; // a rotation closed it as if it were the sink's own
    }
    assert.equal(readFileSync(other, 'utf8'), '');
    assert.equal(closedBySink, false);
    sink.close();
  });

  it('a socket sink whose listener stops reading drops the connection past maxUnreadBytes, and memory stays bounded', async () => {
    // A dashboard suspended with Ctrl-Z: the wire frames of a busy server queued without limit.
    const path = join(dir, 'stalled.sock');
    const held: Socket[] = [];
    const listener = createNetServer({ pauseOnConnect: true }, (s) => { held.push(s); }); // accepts, never reads
    await new Promise<void>((r) => listener.listen(path, r));
    const sink = createSink({ kind: 'unix', path }, { maxUnreadBytes: 1024 * 1024, retryMs: 60_000 });
    try {
      const deadline = Date.now() + 5000;
      while (held.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const mirror = currentMirror();
      assert.ok(mirror !== null, 'connected: the wire mirror is on');
      // ~32 MiB of frames (PARAMS streams, each changed all through), in batches as a busy server's.
      const filler = 'x'.repeat(4000);
      for (let i = 0; i < 8192 && currentMirror() !== null; i++) {
        const bytes = encodePairs([['REQUEST_URI', `/${i}${filler}`], ['N', String(i)]]);
        mirror!.params(1, i + 1, 1, bytes, { names: ['REQUEST_URI', 'N'] });
        if (i % 16 === 15) await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(currentMirror(), null, 'the stalled connection was dropped (the mirror is off until a new one)');
      assert.ok(sink.dropped > 0);
    } finally {
      sink.close();
      for (const s of held) s.destroy();
      listener.close();
    }
  });

  it('a socket sink subscribes only while connected: nobody listening costs nothing', async () => {
    // A socket file nobody accepts on (a dashboard that died): the connect is tried, then given up.
    const path = join(dir, 'stale.sock');
    const stale = createNetServer();
    await new Promise<void>((r) => stale.listen(path, r));
    await new Promise((r) => stale.close(r));
    if (!existsSync(path)) writeFileSync(path, ''); // a file where a socket was: connect is refused
    const sink = createSink({ kind: 'unix', path }, { retryMs: 60_000 });
    assert.equal(isTracing(), true, 'subscribed while the connection is being made');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(isTracing(), false, 'unsubscribed after the connect failed');
    sink.close();
  });

  it('a socket sink whose socket file does not exist neither connects nor subscribes, and connects once a listener appears', async () => {
    const path = join(dir, 'nobody.sock');
    const items: ReadItem[] = [];
    const sink = createSink({ kind: 'unix', path }, { retryMs: 20 });
    let server: Server | undefined;
    try {
      assert.equal(isTracing(), false, 'no subscription while there is no socket file');
      await new Promise((r) => setTimeout(r, 70));
      assert.equal(isTracing(), false, 'nor at the retries');
      server = await listenForTraces(path, (item) => items.push(item));
      await waitUntil(() => isTracing());
      publish({ ev: 'conn.open', mode: 'fcgi', conn: 7, msg: 'after the listener came' });
      await sink.flush(2000);
      await waitUntil(() => items.length > 0);
    } finally {
      sink.close();
      server?.close();
    }
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? i.event.msg : i.text)), ['after the listener came']);
  });

  it('a socket sink delivers queued and live events to a listener, and flush waits for them', async () => {
    const path = join(dir, 'dash.sock');
    const items: ReadItem[] = [];
    const server = await listenForTraces(path, (item) => items.push(item));
    const sink = createSink({ kind: 'unix', path });
    publish({ ev: 'conn.open', mode: 'fcgi', conn: 1, msg: 'queued before connect' });
    await sink.flush(2000);
    publish({ ev: 'conn.close', mode: 'fcgi', conn: 1, msg: 'after connect' });
    await sink.flush(2000);
    await new Promise((r) => setTimeout(r, 50));
    sink.close();
    server.close();
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? i.event.msg : i.text)), ['queued before connect', 'after connect']);
  });

  it('a file sink writes a request\'s notes one line per event, as they come', () => {
    const path = join(dir, 'notes.ndjson');
    const sink = createSink({ kind: 'file', path });
    const notes = helloNotes({ rid: 'f-1' }); // published to the sink too
    sink.close();
    const text = readFileSync(path, 'utf8');
    assert.equal(text, notes.map(noteLine).join(''));
    assert.deepEqual(text.split('\n').filter(Boolean).map((l) => JSON.parse(l).ev),
      ['record', 'record', 'record', 'request.start', 'record', 'record', 'request.end', 'record', 'record']);
  });

  it('a socket sink sends a request\'s notes of one turn as one line, which the listener expands', async () => {
    const path = join(dir, 'grouped.sock');
    const raw = await rawListener(join(dir, 'grouped-raw.sock'));
    const items: ReadItem[] = [];
    const server = await listenForTraces(path, (item) => items.push(item));
    for (const [target, fn] of [[raw.path, () => raw.text()], [path, () => items]] as const) {
      const sink = createSink({ kind: 'unix', path: target });
      await sink.flush(2000);
      publishHello({ rid: 's-1' });
      publishHello({ rid: 's-2', requestId: 2 });
      await sink.flush(2000);
      await waitUntil(() => (typeof fn() === 'string' ? (fn() as string).split('\n').length > 2 : (fn() as ReadItem[]).length >= 18));
      sink.close();
    }
    server.close();
    raw.server.close();
    const lines = raw.text().split('\n').filter(Boolean);
    assert.deepEqual(lines.map((l) => [JSON.parse(l).ev, JSON.parse(l).rid]), [['request', 's-1'], ['request', 's-2']], 'one line per request');
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? `${i.event.ev} ${String(i.event['rid'])}` : i.text)).slice(0, 9),
      ['record', 'record', 'record', 'request.start', 'record', 'record', 'request.end', 'record', 'record'].map((e) => `${e} s-1`));
  });

  it('a socket sink keeps a line written among a request\'s notes of one turn between them: its log before its end', async () => {
    const notes = helloNotes({ rid: 'o-1' }); // made before the sink listens
    const items: ReadItem[] = [];
    const path = join(dir, 'order.sock');
    const server = await listenForTraces(path, (item) => items.push(item));
    const sink = createSink({ kind: 'unix', path });
    await sink.flush(2000);
    const startAt = notes.findIndex((n) => n.note === 'start');
    for (const n of notes.slice(0, startAt + 1)) publishNote(n);
    publishRaw(JSON.stringify({ level: 30, time: 1, pid: 1, ev: 'app.log', rid: 'o-1', msg: 'logged by the handler' }));
    for (const n of notes.slice(startAt + 1)) publishNote(n);
    await sink.flush(2000);
    await waitUntil(() => items.some((i) => i.kind === 'event' && i.event.ev === 'request.end'));
    sink.close();
    server.close();
    const kinds = items.map((i) => (i.kind === 'event' ? String(i.event.ev) : 'text'));
    assert.ok(kinds.indexOf('app.log') > kinds.indexOf('request.start') && kinds.indexOf('app.log') < kinds.indexOf('request.end'), kinds.join(', '));
    assert.equal(kinds.filter((k) => k === 'record').length, 7, 'every record once');
  });

  it('a socket sink sends a long request\'s records as they come, before it ends (one line per turn)', async () => {
    const notes = helloNotes({ rid: 'l-1' }); // made before the sink listens
    const raw = await rawListener(join(dir, 'long-raw.sock'));
    const sink = createSink({ kind: 'unix', path: raw.path });
    await sink.flush(2000);
    publishNote(notes[0]!);
    publishNote(notes[1]!);
    await waitUntil(() => raw.text().includes('"l-1"'));
    assert.equal(raw.text().split('\n').filter(Boolean).length, 1, 'the first turn\'s records are on the wire before the request ends');
    for (const n of notes.slice(2)) {
      publishNote(n);
      await new Promise((r) => setImmediate(r));
    }
    await sink.flush(2000);
    await waitUntil(() => raw.text().includes('"end"'));
    sink.close();
    raw.server.close();
    const lines = raw.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ev: string; rid: string; records?: unknown[] });
    assert.ok(lines.length >= 4, `one line per turn: ${raw.text()}`);
    assert.ok(lines.every((l) => l.ev === 'request' && l.rid === 'l-1'));
    assert.equal(lines.reduce((n, l) => n + (l.records?.length ?? 0), 0), 7, 'every record sent once');
  });

  it('a turn with many requests: a request more than 64 groups back starts another line, and nothing is lost', async () => {
    const a = helloNotes({ rid: 'm-a' }); // made before the sink listens: not published yet
    const others = Array.from({ length: 100 }, (_, i) => helloNotes({ rid: `m-${i}`, requestId: i + 2 })[0]!);
    const raw = await rawListener(join(dir, 'many-raw.sock'));
    const sink = createSink({ kind: 'unix', path: raw.path });
    try {
      await sink.flush(2000);
      // One turn: the first note of m-a, one note each of 100 other requests, the rest of m-a.
      publishNote(a[0]!);
      for (const n of others) publishNote(n);
      for (const n of a.slice(1)) publishNote(n);
      await sink.flush(2000);
      await waitUntil(() => raw.text().includes('"end"') && raw.text().split('\n').filter(Boolean).length >= 101);
    } finally {
      sink.close();
      raw.server.close();
    }
    const lines = raw.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { rid: string; records?: unknown[]; end?: unknown });
    const ofA = lines.filter((l) => l.rid === 'm-a');
    assert.equal(ofA.length, 2, 'the search for m-a\'s group stopped 64 items back');
    assert.equal(ofA.reduce((n, l) => n + (l.records?.length ?? 0), 0), 7);
    assert.ok(ofA[1]!.end !== undefined);
    assert.equal(lines.length, 102);
  });

  it('a listener that connects mid-stream is sent the params base before any change against it, and rebuilds full params', async () => {
    const path = join(dir, 'delta.sock');
    const first = await rawListener(path);
    const sink = createSink({ kind: 'unix', path }, { retryMs: 20 });
    const later: ReadItem[] = [];
    let server: Server | undefined;
    try {
      await sink.flush(2000);
      publishHello({ rid: 'x-1' });
      await new Promise((r) => setImmediate(r));
      publishHello({ rid: 'x-2', uri: '/x2' });
      await sink.flush(2000);
      await waitUntil(() => first.text().split('\n').filter(Boolean).length >= 2);
      const lines = first.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Obj);
      assert.ok(lines[0]!['paramsBase'] !== undefined, 'the first line of a connection carries the base');
      assert.ok(lines[1]!['paramsBase'] === undefined && lines[1]!['paramsDelta'] !== undefined, 'then only the changes');
      // The listener goes; another (a dashboard started later) takes its place, the producer's base unchanged.
      first.close();
      await waitUntil(() => !isTracing());
      server = await listenForTraces(path, (item) => later.push(item));
      let n = 0;
      await waitUntil(() => {
        // Queued as lines of their own while connecting (nothing while the sink waits to retry), then grouped.
        if (isTracing()) publishHello({ rid: `y-${++n}`, uri: `/y${n}` });
        // Until starts came in grouped lines (expanded items: `built`), after the connection was made.
        return later.filter((i) => i.kind === 'event' && i.event.ev === 'request.start' && (i as { built?: true }).built === true).length >= 2;
      });
      await sink.flush(2000);
    } finally {
      sink.close();
      server?.close();
    }
    const starts = later.filter((i) => i.kind === 'event' && i.event.ev === 'request.start');
    assert.ok(starts.length >= 1);
    for (const item of starts) {
      if (item.kind !== 'event') continue;
      const uri = item.event['uri'] as string;
      assert.deepEqual((item.event['params'] as Array<[string, string]>).map(([k]) => k),
        ['REQUEST_METHOD', 'REQUEST_URI', 'HTTP_COOKIE', 'HTTP_USER_AGENT']);
      assert.deepEqual((item.event['params'] as Array<[string, string]>)[1], ['REQUEST_URI', uri], 'its own params, rebuilt');
    }
    assert.deepEqual(later.filter((i) => i.kind !== 'event' || (i.event.ev as string) === 'request'), [],
      'no line was left unexpanded (no change arrived before its base)');
    const grouped = later.filter((i) => i.kind === 'event' && i.event.ev === 'request.start' && (i as { built?: true }).built === true);
    assert.ok(grouped.length >= 2, 'some came grouped, after the connection was made');
  });

  it('the listener socket is owner-only by default and refuses a second live listener', async () => {
    const path = join(dir, 'perm.sock');
    const server = await listenForTraces(path, () => {});
    const { statSync } = await import('node:fs');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await assert.rejects(listenForTraces(path, () => {}), { code: 'TRACE_ERR_IN_USE' });
    server.close();
  });
});

/** rawListener: a Unix socket server that keeps the bytes producers send, unparsed. */
async function rawListener(path: string): Promise<{ path: string; server: Server; text: () => string; close: () => void }> {
  let text = '';
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('data', (b: Buffer) => { text += b.toString(); });
  });
  await new Promise<void>((r) => server.listen(path, r));
  const close = (): void => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return { path, server, text: () => text, close };
}

type Obj = Record<string, unknown>;

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
