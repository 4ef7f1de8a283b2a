import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTracing, publish, publishRaw, subscribe } from '../../src/trace/channel';
import type { TraceEvent } from '../../src/trace/events';
import { listenForTraces } from '../../src/trace/listener';
import type { ReadItem } from '../../src/trace/reader';
import { createSink, serialize } from '../../src/trace/sink';
import { parseTraceTarget } from '../../src/trace/target';
import { resolveTraceTarget, TRACE_FILE } from '../../src/trace/install';

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

  it('a socket sink subscribes only while connected: nobody listening costs nothing', async () => {
    const path = join(dir, 'nobody.sock');
    const sink = createSink({ kind: 'unix', path }, { retryMs: 60_000 });
    assert.equal(isTracing(), true, 'subscribed while the connection is being made');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(isTracing(), false, 'unsubscribed after the connect failed');
    sink.close();
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

  it('the listener socket is owner-only by default and refuses a second live listener', async () => {
    const path = join(dir, 'perm.sock');
    const server = await listenForTraces(path, () => {});
    const { statSync } = await import('node:fs');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await assert.rejects(listenForTraces(path, () => {}), { code: 'TRACE_ERR_IN_USE' });
    server.close();
  });
});
