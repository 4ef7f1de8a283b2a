import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeRecord, describeRequestEnd, visible } from '../../src/dashboard/format/describe';
import { createTailFormatter } from '../../src/dashboard/tail';
import type { TraceEvent } from '../../src/trace/events';
import { cgiRequest, fcgiRequest, item, processStart } from './fixtures';

const clock = /^\[\d\d:\d\d:\d\d\.\d\d\d\] /;

function run(events: TraceEvent[], verbose: boolean, colorize = false): string[] {
  const format = createTailFormatter({ verbose, colorize });
  return events.map((e) => format(item(e))).filter((l): l is string => l !== null);
}

describe('describe*', () => {
  it('summarizes a finished request as `GET /foo 200 12ms 1.2kB pid 123 fcgi`', () => {
    const end = fcgiRequest({ pid: 123, uri: '/foo' }).at(-1)! as unknown as Record<string, unknown>;
    assert.equal(describeRequestEnd(end), 'GET /foo 200 12ms 1.2kB pid 123 fcgi');
    assert.equal(describeRequestEnd({ ...end, aborted: true, mode: 'cgi' }), 'GET /foo 200 12ms 1.2kB pid 123 cgi aborted');
  });

  it('describes each record type compactly, previews on one line', () => {
    const lines = fcgiRequest({ body: 'x=1' }).filter((e) => e.ev === 'record').map((e) => describeRecord(e as never));
    assert.deepEqual(lines.map((l) => l.replace(/ rid=.*/, '')), [
      '→ in  BEGIN_REQUEST     id=1 len=8 pad=0 RESPONDER KEEP_CONN',
      '→ in  PARAMS            id=1 len=312 pad=0 11 pairs',
      '→ in  PARAMS            id=1 len=0 pad=0 (end of params)',
      '→ in  STDIN             id=1 len=3 pad=5 "x=1"',
      '→ in  STDIN             id=1 len=0 pad=0 (end of stream)',
      '← out STDOUT            id=1 len=61 pad=3 "Status: 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n<h1>item {…"',
      '← out STDOUT            id=1 len=0 pad=0 (end of stream)',
      '← out END_REQUEST       id=1 len=8 pad=0 appStatus=0 REQUEST_COMPLETE',
    ]);
    assert.equal(visible('a\x1b[2J\x00'), 'a\\x1b[2J\\x00');
    assert.match(describeRecord({ ev: 'record', dir: 'in', type: 'STDIN', contentLength: 9, redacted: true }), /\[redacted\]$/);
    assert.match(describeRecord({ ev: 'record', dir: 'in', type: 'PARAMS', contentLength: 434, pairs: 22 }), /PARAMS .* 22 pairs$/, 'a count in place of the pairs');
    assert.match(describeRecord({ ev: 'record', dir: 'in', type: 'GET_VALUES', requestId: 0, contentLength: 20, values: [['FCGI_MAX_CONNS', '']] }), /GET_VALUES .* FCGI_MAX_CONNS$/);
  });
});

describe('createTailFormatter', () => {
  it('prints request summaries, app logs, process lines and error stacks; records only with -v', () => {
    const events = [processStart(4242, 'fcgi'), ...fcgiRequest({ uri: '/foo', crash: true })];
    const lines = run(events, false);
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /INFO \(4242\): process start fcgi: fd 0 is a listening socket, app \/srv\/app\/app\.js, version 1\.2\.3, user www-data\n$/);
    assert.match(lines[1]!, /INFO \(4242\): loaded item 1 \{"rid":"4242-1","user":"ann"\}\n$/);
    assert.match(lines[2]!, /ERROR \(4242\): boom: database unreachable \(phase handler, rid 4242-1\)\n {4}Error: boom: database unreachable\n {8}at handler/);
    assert.match(lines[3]!, /ERROR: GET \/foo 500 12ms 1\.2kB pid 4242 fcgi\n$/);
    for (const l of lines) assert.match(l, clock);
    const verbose = run(events, true);
    assert.equal(verbose.length, 4 + 7 + 1, 'seven records and the request start');
    assert.equal(verbose.filter((l) => /DEBUG: [→←] (in|out) /.test(l)).length, 7);
    assert.ok(verbose.every((l) => l.endsWith('\n') && (l.match(/\n/g)!.length === 1 || /Error: boom/.test(l))));
  });

  it('prints CGI hits with their own pid and mode', () => {
    const lines = run([...cgiRequest({ pid: 501, uri: '/a' }), ...cgiRequest({ pid: 502, uri: '/b', status: 404 })], false);
    assert.ok(lines.some((l) => /INFO: GET \/a 200 12ms 1\.2kB pid 501 cgi/.test(l)));
    assert.ok(lines.some((l) => /WARN: GET \/b 404 12ms 1\.2kB pid 502 cgi/.test(l)));
    assert.ok(lines.some((l) => /INFO \(502\): process exit: request done \(code 0\)/.test(l)));
  });

  it('passes non-event lines through and never lets event text control the terminal', () => {
    const format = createTailFormatter({ verbose: true, colorize: true });
    assert.equal(format({ kind: 'text', text: 'plain words' }), 'plain words\n');
    const hostile = { level: 30, time: 1, pid: 1, ev: 'app.log', stream: 'log', msg: 'x\x1b]0;title\x07\x1b[2Jy', ['k\x1b[1m']: 'v\x9b' } as never;
    const out = format(item(hostile))!;
    const withoutColors = out.replace(/\x1b\[[0-9;]*m/g, '');
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(withoutColors.replace(/\n$/, '')), JSON.stringify(out));
    assert.match(withoutColors, /x\]0;title\[2Jy/);
    assert.ok(out.includes('\x1b['), 'colors when asked for');
    const end = fcgiRequest({ uri: '/\x1b[2J' }).at(-1)!;
    assert.ok(!format(item(end))!.replace(/\x1b\[[0-9;]*m/g, '').includes('\x1b'));
  });
});
