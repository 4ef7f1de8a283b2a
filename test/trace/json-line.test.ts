import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import {
  encodeBeginRequest, encodeEndRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, type FastCGIRecord, ProtocolStatus,
  RecordDecoder, RecordType, Role,
} from '../../src/protocol';
import { subscribe } from '../../src/trace/channel';
import { isNote } from '../../src/trace/notes';
import { applyDelta } from '../../src/trace/group-expand';
import { lineHead, pairsJson, ParamsJson, q } from '../../src/trace/json-line';
import { countPairs, recordEvent, recordNote, recordNoteEvent, recordNoteLine } from '../../src/trace/record-event';
import { noteLine } from '../../src/trace/request-group';
import { REDACTED, traceOptions } from '../../src/trace/redact';
import { headersJson, traceRequest } from '../../src/trace/request-events';
import type { Exchange } from '../../src/handlers/exchange';
import type { RequestHead } from '../../src/cgi/request-head';

function decode(...bufs: Buffer[]): FastCGIRecord[] {
  const out: FastCGIRecord[] = [];
  new RecordDecoder((r) => out.push(r)).push(Buffer.concat(bufs));
  return out;
}

type Obj = Record<string, unknown>;

/** recordLine: a record's note as its own line, as the file and stderr targets write it. */
function recordLine(record: FastCGIRecord, dir: 'in' | 'out', conn: number, mode: string, rid: string | undefined): string | undefined {
  const note = recordNote(record, dir, conn, mode, rid);
  return note === undefined ? undefined : `${recordNoteLine(note)}\n`;
}

function parseLine(line: string): Obj {
  assert.ok(line.endsWith('\n'), 'a line ends with its newline');
  assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
  return JSON.parse(line) as Obj;
}

/** same: the hand-written line has every field recordEvent has (params aside), with the same values. */
function assertSameAsEvent(record: FastCGIRecord, dir: 'in' | 'out', rid?: string): Obj {
  const line = recordLine(record, dir, 4, 'fcgi', rid);
  assert.ok(line !== undefined, `record type ${record.type} has a fast line`);
  const fast = parseLine(line);
  const slow = recordEvent(record, dir, 4, 'fcgi', rid) as unknown as Obj;
  for (const [k, v] of Object.entries(slow)) {
    if (k === 'params') continue;
    assert.deepEqual(fast[k], k === 'level' ? 20 : v, `field ${k}`);
  }
  assert.equal(fast['ev'], 'record');
  const event = recordNoteEvent(recordNote(record, dir, 4, 'fcgi', rid)!) as unknown as Obj;
  assert.deepEqual({ ...fast }, { ...event, time: fast['time'] }, 'the line parses to the event object a grouped line expands to');
  assert.equal(fast['pid'], process.pid);
  assert.equal(typeof fast['time'], 'number');
  return fast;
}

describe('hand-written trace lines (notes written one line per event)', () => {
  afterEach(() => { traceOptions.showSecrets = false; });

  it('q quotes any text as JSON, hostile strings included', () => {
    for (const s of ['', 'plain /path?x=1', 'a"b', 'a\\b', '\u001b[2J\u0007', 'é ü', '\u2028', '\ud800', 'x\u007fy', 'tab\there']) {
      assert.equal(JSON.parse(q(s)), s);
    }
    assert.equal(q('\u001b'), '"\\u001b"', 'control characters stay escaped on the wire');
  });

  it('lineHead and pairsJson make valid JSON, secrets replaced', () => {
    const line = `${lineHead(30, Date.now(), process.pid, 'request.start', 'fcgi')},"params":${pairsJson([['HTTP_COOKIE', 's=1'], ['A', '"x"\n']], (n) => n === 'HTTP_COOKIE', q(REDACTED))}}`;
    const ev = JSON.parse(line) as Obj;
    assert.equal(ev['ev'], 'request.start');
    assert.equal(ev['mode'], 'fcgi');
    assert.deepEqual(ev['params'], [['HTTP_COOKIE', REDACTED], ['A', '"x"\n']]);
    assert.equal(JSON.parse(`${lineHead(20, 1, 2, 'record', 'tap')}}`)['mode'], 'tap');
  });

  it('record lines carry what recordEvent carries for BEGIN_REQUEST, END_REQUEST and empty/redacted streams', () => {
    const begin = assertSameAsEvent(decode(encodeBeginRequest(3, Role.Responder, FCGI_KEEP_CONN))[0]!, 'in', 'r-1');
    assert.equal(begin['keepConn'], true);
    assert.equal(begin['rid'], 'r-1');
    assertSameAsEvent(decode(encodeEndRequest(3, 7, ProtocolStatus.Overloaded))[0]!, 'out');
    const out = assertSameAsEvent(decode(encodeRecord(RecordType.Stdout, 3, Buffer.from('Status: 200\r\n\r\nsecret')))[0]!, 'out', 'r"1');
    assert.equal(out['redacted'], true);
    assert.equal(out['preview'], undefined);
    assertSameAsEvent(decode(encodeRecord(RecordType.Stdin, 3, Buffer.alloc(0)))[0]!, 'in', 'r-1');
    assertSameAsEvent(decode(encodeRecord(RecordType.AbortRequest, 3, Buffer.alloc(0)))[0]!, 'in', 'r-1');
  });

  it('a PARAMS line counts its pairs instead of carrying them (request.start carries them)', () => {
    const [rec] = decode(encodeParams(1, [['HTTP_AUTHORIZATION', 'Basic eA=='], ['A', 'b'], ['LONG', 'v'.repeat(300)]])[0]!);
    const ev = assertSameAsEvent(rec!, 'in', 'r-1');
    assert.equal(ev['pairs'], 3);
    assert.equal(ev['params'], undefined);
    assert.ok(!recordLine(rec!, 'in', 1, 'fcgi', 'r-1')!.includes('Basic'), 'no secret on the wire');
    const split = decode(...encodeParams(1, [['NAME', 'x'.repeat(40)], ['B', 'c']], 10));
    assert.equal(countPairs(split[0]!.content), 0, 'a pair that continues in the next record is not counted');
    assert.equal(countPairs(Buffer.alloc(0)), 0);
  });

  it('leaves bodies shown on request, STDERR and management records to recordEvent', () => {
    traceOptions.showSecrets = true;
    assert.equal(recordLine(decode(encodeRecord(RecordType.Stdout, 1, Buffer.from('x')))[0]!, 'out', 1, 'fcgi', undefined), undefined);
    traceOptions.showSecrets = false;
    assert.equal(recordLine(decode(encodeRecord(RecordType.Stderr, 1, Buffer.from('oops')))[0]!, 'out', 1, 'fcgi', undefined), undefined);
    assert.equal(recordLine(decode(encodeRecord(RecordType.BeginRequest, 1, Buffer.alloc(3)))[0]!, 'in', 1, 'fcgi', undefined), undefined,
      'a malformed body is reported by recordEvent');
  });

  it('headersJson reads node:http head lines, Set-Cookie redacted', () => {
    const res = { _header: 'HTTP/1.1 200 OK\r\nSet-Cookie: sid=1\r\nX-Odd: a "quoted" \\ value\r\nContent-Length: 6\r\n\r\n' } as unknown as ServerResponse;
    assert.deepEqual(JSON.parse(headersJson(res)), [['Set-Cookie', REDACTED], ['X-Odd', 'a "quoted" \\ value'], ['Content-Length', '6']]);
    assert.equal(headersJson(null), '[]');
  });

  it('headersJson gives a repeated head the same JSON, a changed head its own, and never the redacted one once secrets are shown', () => {
    const head = (cookie: string): ServerResponse => ({ _header: `HTTP/1.1 200 OK\r\nSet-Cookie: ${cookie}\r\nContent-Length: 6\r\n\r\n` }) as unknown as ServerResponse;
    try {
      assert.deepEqual(JSON.parse(headersJson(head('sid=1'))), [['Set-Cookie', REDACTED], ['Content-Length', '6']]);
      assert.equal(headersJson(head('sid=1')), headersJson(head('sid=1')));
      traceOptions.showSecrets = true;
      assert.deepEqual(JSON.parse(headersJson(head('sid=1'))), [['Set-Cookie', 'sid=1'], ['Content-Length', '6']]);
      assert.deepEqual(JSON.parse(headersJson(head('sid=2'))), [['Set-Cookie', 'sid=2'], ['Content-Length', '6']]);
      traceOptions.showSecrets = false;
      assert.deepEqual(JSON.parse(headersJson(head('sid=2'))), [['Set-Cookie', REDACTED], ['Content-Length', '6']]);
    } finally {
      traceOptions.showSecrets = false;
    }
  });

  it('request.start carries the params once, redacted; request.end the head and status', () => {
    const lines: string[] = [];
    const off = subscribe((m) => { if (isNote(m)) lines.push(noteLine(m)); });
    try {
      const params = new Map([['REQUEST_METHOD', 'GET'], ['HTTP_COOKIE', 'secret=1'], ['REQUEST_URI', '/a?\u001b']]);
      const exchange = {
        rid: 'r-9', mode: 'fcgi', requestId: 2, role: 'RESPONDER', params, bytesIn: 0, bytesOut: 6, aborted: false,
        onAbort: () => {},
      } as unknown as Exchange & { rid: string; bytesIn: number; bytesOut: number };
      const head = { method: 'GET', originalUrl: '/a?\u001b', url: '/a?\u001b', mountPoint: '' } as unknown as RequestHead;
      const trace = traceRequest(exchange, head)!;
      trace.finish({ _header: 'HTTP/1.1 404 Not Found\r\nContent-Length: 6\r\n\r\n' } as unknown as ServerResponse, 404);
    } finally {
      off();
    }
    const [start, end] = lines.map(parseLine);
    assert.equal(start!['ev'], 'request.start');
    assert.equal(start!['uri'], '/a?\u001b');
    assert.deepEqual(start!['params'], [['REQUEST_METHOD', 'GET'], ['HTTP_COOKIE', REDACTED], ['REQUEST_URI', '/a?\u001b']]);
    assert.equal(end!['ev'], 'request.end');
    assert.equal(end!['status'], 404);
    assert.equal(end!['level'], 40);
    assert.deepEqual(end!['headers'], [['Content-Length', '6']]);
    assert.equal(end!['aborted'], false);
    assert.match(String(end!['msg']), /^GET \/a\?\u001b 404 \d+\.\dms$/);
  });

  it('request.start reads the params through paramLookup when the transport has one (no params Map built)', () => {
    const lines: string[] = [];
    const off = subscribe((m) => { if (isNote(m)) lines.push(noteLine(m)); });
    try {
      const lookup = new Map([['REQUEST_METHOD', 'GET'], ['HTTP_COOKIE', 'secret=1']]);
      const exchange = {
        rid: 'r-10', mode: 'fcgi', requestId: 3, role: 'RESPONDER', paramLookup: lookup, bytesIn: 0, bytesOut: 0, aborted: false,
        get params(): never { throw new Error('the params Map was built'); },
        onAbort: () => {},
      } as unknown as Exchange & { rid: string; bytesIn: number; bytesOut: number };
      traceRequest(exchange, { method: 'GET', originalUrl: '/', url: '/', mountPoint: '' } as unknown as RequestHead);
    } finally {
      off();
    }
    assert.deepEqual(parseLine(lines[0]!)['params'], [['REQUEST_METHOD', 'GET'], ['HTTP_COOKIE', REDACTED]]);
  });
});

describe('ParamsJson', () => {
  const secret = (n: string): boolean => n === 'HTTP_COOKIE';
  const redacted = q(REDACTED);
  const check = (builder: ParamsJson, pairs: Array<[string, string]>): string => {
    const json = builder.build(new Map(pairs));
    assert.equal(json, pairsJson(pairs, secret, redacted));
    // The same params as their base and delta (request-group.ts paramsText): the readers' rebuild.
    const rebuilt = applyDelta(JSON.parse(builder.base.text) as Array<[string, string]>, JSON.parse(builder.delta));
    assert.deepEqual(rebuilt, JSON.parse(json), 'base + delta');
    return json;
  };

  it('leaves each build\'s base and its delta: the values changed since the base, by position; a new base when the names change', () => {
    const b = new ParamsJson(secret, redacted);
    check(b, [['A', '1'], ['HTTP_COOKIE', 's=1'], ['B', '2'], ['C', '3']]);
    const base = b.base;
    assert.equal(b.delta, '[]');
    check(b, [['A', '1'], ['HTTP_COOKIE', 's=2'], ['B', '"x"'], ['C', '3']]);
    assert.equal(b.base, base, 'the same base');
    assert.equal(b.delta, '[[2,"\\"x\\""]]', 'only B: a secret never goes as a change');
    check(b, [['A', '9'], ['HTTP_COOKIE', 's=2'], ['B', '2'], ['C', '3']]);
    assert.equal(b.delta, '[[0,"9"]]');
    check(b, [['A', '1'], ['B', '2']]);
    assert.notEqual(b.base, base, 'other names: a new base');
    assert.equal(b.delta, '[]');
  });

  it('gives pairsJson\'s text for every request of a sequence: same, one value changed, names changed, secrets changed', () => {
    const b = new ParamsJson(secret, redacted);
    const base: Array<[string, string]> = [['A', '1'], ['HTTP_COOKIE', 's=1'], ['B', '"q"\n'], ['C', ''], ['D', 'é']];
    check(b, base);
    check(b, base);
    check(b, [['A', '2'], ['HTTP_COOKIE', 's=1'], ['B', '"q"\n'], ['C', ''], ['D', 'é']]);
    check(b, [['A', '1'], ['HTTP_COOKIE', 's=1'], ['B', 'x'], ['C', '\u001b'], ['D', 'é']]);
    check(b, [['A', '3'], ['HTTP_COOKIE', 's=2'], ['B', '"q"\n'], ['C', ''], ['D', 'ü']]);
    check(b, [['A', '1'], ['B', '"q"\n']]);
    check(b, [['A', '1'], ['B', '"q"\n'], ['E', '']]);
    check(b, [['X', '9'], ['B', '"q"\n'], ['E', '']]);
    check(b, [['A', 'a'], ['B', 'b'], ['C', 'c']]);
    check(b, [['A', 'z'], ['B', 'y'], ['C', 'c']]);
    check(b, []);
    check(b, [['A', '1']]);
  });

  it('never puts a secret\'s value in the text, as base or as a change', () => {
    const b = new ParamsJson(secret, redacted);
    const first = check(b, [['HTTP_COOKIE', 'first-secret'], ['A', '1']]);
    const second = check(b, [['HTTP_COOKIE', 'second-secret'], ['A', '2']]);
    for (const json of [first, second]) assert.doesNotMatch(json, /secret/);
    assert.deepEqual(JSON.parse(second), [['HTTP_COOKIE', REDACTED], ['A', '2']]);
  });

  it('reads a FastCGI-style lookup through forEach (no Map needed)', () => {
    const b = new ParamsJson(secret, redacted);
    const names = ['A', 'B'];
    const values = ['1', '2'];
    const lookup = { forEach: (fn: (value: string, name: string) => void) => names.forEach((n, i) => fn(values[i]!, n)) };
    assert.equal(b.build(lookup), '[["A","1"],["B","2"]]');
    values[1] = '3';
    assert.equal(b.build(lookup), '[["A","1"],["B","3"]]');
  });
});
