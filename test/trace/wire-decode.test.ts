import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { encodePairs, RecordType } from '../../src/protocol';
import type { GroupItem } from '../../src/trace/group-scan';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import { countPairs } from '../../src/trace/record-event';
import { traceOptions } from '../../src/trace/redact';
import { WireMirror, wireLine } from '../../src/trace/wire-mirror';
import { AUTH, BODY, COOKIE, type Ev, events, HEAD, PARAMS, read, request, respond, SET_COOKIE } from './wire-fixture';




describe('wire mirror frames, decoded by the reader', () => {
  afterEach(() => {
    traceOptions.showSecrets = false;
  });

  it('come out as the records, request.start and request.end a line per event carried, secrets redacted', () => {
    const m = new WireMirror();
    request(m, 3, 41, 1);
    respond(m, 3, 41, 1);
    const evs = events(read([wireLine(m.take(), 4242, 'fcgi')]));
    assert.deepEqual(evs.map((e) => `${e['ev']} ${e['type'] ?? ''}`), [
      'record BEGIN_REQUEST', 'record PARAMS', 'record PARAMS', 'record PARAMS', 'request.start ', 'record STDIN', 'record STDOUT',
      'record END_REQUEST', 'request.end ']);
    for (const e of evs) assert.equal(e['rid'], '4242-41');
    const [begin, p1, p2, p3, start, stdin, stdout, end, reqEnd] = evs as [Ev, Ev, Ev, Ev, Ev, Ev, Ev, Ev, Ev];
    assert.equal(begin['role'], 'RESPONDER');
    assert.equal(begin['keepConn'], true);
    assert.equal(begin['conn'], 3);
    // Counted per record as the serving process counted them before (a pair cut by a record is not whole in either).
    const params = encodePairs(PARAMS);
    assert.deepEqual([p1['pairs'], p2['pairs'], p3['pairs']], [countPairs(params.subarray(0, 20)), countPairs(params.subarray(20)), undefined]);
    assert.equal(start['method'], 'POST');
    assert.equal(start['uri'], '/app/things?x=1');
    assert.equal(start['url'], '/things?x=1');
    assert.equal(start['mountPoint'], '/app');
    assert.deepEqual((start['params'] as Array<[string, string]>).find(([n]) => n === 'HTTP_COOKIE'), ['HTTP_COOKIE', '[redacted]']);
    assert.deepEqual((start['params'] as Array<[string, string]>).find(([n]) => n === 'HTTP_AUTHORIZATION'), ['HTTP_AUTHORIZATION', '[redacted]']);
    assert.deepEqual((start['params'] as Array<[string, string]>).find(([n]) => n === 'HTTP_HOST'), ['HTTP_HOST', 'example.test']);
    assert.equal(stdin['redacted'], true);
    assert.equal(stdin['contentLength'], BODY.length);
    assert.equal(stdin['preview'], undefined);
    assert.equal(stdout['redacted'], true);
    assert.equal(end['protocolStatus'], 'REQUEST_COMPLETE');
    assert.equal(reqEnd['status'], 404);
    assert.equal(reqEnd['level'], 40);
    assert.equal(reqEnd['bytesIn'], BODY.length);
    assert.equal(reqEnd['bytesOut'], HEAD.length + 11 + BODY.length);
    assert.deepEqual(reqEnd['headers'], [['Content-Type', 'text/plain'], ['set-COOKIE', '[redacted]']]);
    assert.match(String(reqEnd['msg']), /^POST \/app\/things\?x=1 404 \d+\.\dms$/);
  });

  it('never carry a secret: cookie and authorization params, Set-Cookie, request and response bodies', () => {
    const m = new WireMirror();
    request(m, 1, 7, 1);
    respond(m, 1, 7, 1);
    const line = wireLine(m.take(), 1, 'fcgi');
    const b64 = (JSON.parse(line) as { b64: string }).b64;
    const bytes = Buffer.from(b64, 'base64').toString('latin1');
    for (const secret of [COOKIE, AUTH, SET_COOKIE, BODY, 's3cret']) {
      assert.ok(!bytes.includes(secret) && !line.includes(secret), `${secret} not sent`);
    }
  });

  it('carry previews of bodies when secrets are shown, and then the secrets too', () => {
    traceOptions.showSecrets = true;
    const m = new WireMirror();
    request(m, 1, 7, 1);
    respond(m, 1, 7, 1);
    const evs = events(read([wireLine(m.take(), 1, 'fcgi')]));
    const stdin = evs.find((e) => e['type'] === 'STDIN')!;
    assert.equal(stdin['preview'], BODY);
    assert.equal(stdin['redacted'], undefined);
    const start = evs.find((e) => e['ev'] === 'request.start')!;
    assert.deepEqual((start['params'] as Array<[string, string]>).find(([n]) => n === 'HTTP_COOKIE'), ['HTTP_COOKIE', COOKIE]);
    const end = evs.find((e) => e['ev'] === 'request.end')!;
    assert.deepEqual((end['headers'] as Array<[string, string]>)[1], ['set-COOKIE', SET_COOKIE]);
  });

  it('keep multiplexed requests apart, and a request cut across two lines whole', () => {
    const m = new WireMirror();
    request(m, 1, 10, 1);
    request(m, 1, 11, 2);
    respond(m, 1, 11, 2);
    const first = wireLine(m.take(), 9, 'fcgi');
    respond(m, 1, 10, 1);
    const second = wireLine(m.take(), 9, 'fcgi');
    for (const summaries of [false, true]) {
      const evs = events(read([first, second], summaries));
      for (const rid of ['9-10', '9-11']) {
        const mine = evs.filter((e) => e['rid'] === rid);
        assert.deepEqual(mine.map((e) => e['ev']).filter((k) => k !== 'record'), ['request.start', 'request.end'], `${rid} summaries ${summaries}`);
        assert.equal(mine.filter((e) => e['ev'] === 'record').length, 7);
        assert.equal(mine.find((e) => e['ev'] === 'request.end')!['status'], 404);
      }
    }
  });

  it('with summaries, hand on a request of one line as one group item whose summary says what its events say', () => {
    const m = new WireMirror();
    request(m, 2, 5, 1);
    respond(m, 2, 5, 1);
    const line = wireLine(m.take(), 77, 'fcgi');
    const items = read([line], true);
    assert.equal(items.length, 1);
    const g = items[0] as GroupItem;
    assert.equal(g.kind, 'group');
    assert.deepEqual({ rid: g.group.rid, method: g.group.method, uri: g.group.uri, url: g.group.url, status: g.group.status, records: g.group.records,
      bytesIn: g.group.bytesIn, role: g.group.role, conn: g.group.conn, aborted: g.group.aborted },
    { rid: '77-5', method: 'POST', uri: '/app/things?x=1', url: '/things?x=1', status: 404, records: 7, bytesIn: BODY.length, role: 'RESPONDER', conn: 2,
      aborted: false });
    assert.match(g.group.msg, /^POST \/app\/things\?x=1 404 /);
    // Its events, made when asked for, are the events the same line gives without summaries.
    assert.deepEqual(events(items), events(read([line])));
  });

  it('with summaries, keep the frames of requests interleaved in one line apart when their groups are expanded', () => {
    // Each gathered request's frames are a chain in the line's shared span list: a chain that
    // picked up another request's frame, or lost one of its own, would show here.
    const m = new WireMirror();
    request(m, 1, 10, 1);
    request(m, 2, 11, 1);
    request(m, 1, 12, 2, 'a longer body for the third');
    respond(m, 2, 11, 1);
    respond(m, 1, 12, 2);
    respond(m, 1, 10, 1);
    const line = wireLine(m.take(), 9, 'fcgi');
    const items = read([line], true);
    assert.deepEqual(items.map((i) => (i.kind === 'group' ? i.group.rid : i.kind)), ['9-11', '9-12', '9-10']);
    const plain = events(read([line]));
    for (const item of items) {
      const g = item as GroupItem;
      const mine = plain.filter((e) => e['rid'] === g.group.rid);
      assert.deepEqual(events([g]), mine, g.group.rid);
      assert.equal(events([g]).filter((e) => e['ev'] === 'record').length, g.group.records);
    }
  });

  it('make one record of a record that arrived in pieces, previewing its start across pieces', () => {
    traceOptions.showSecrets = true;
    const m = new WireMirror();
    request(m, 1, 3, 1, '');
    const body = Buffer.from('abcdefghij'.repeat(40));
    let sent = m.recordIn(1, 3, RecordType.Stdin, 1, body.length, 0, body.subarray(0, 100), true);
    sent = m.cont(1, RecordType.Stdin, body.subarray(100, 300), sent, false);
    m.cont(1, RecordType.Stdin, body.subarray(300), sent, true);
    const evs = events(read([wireLine(m.take(), 1, 'fcgi')]));
    const stdin = evs.filter((e) => e['type'] === 'STDIN');
    assert.deepEqual(stdin.map((e) => e['contentLength']), [0, 400]);
    assert.equal(stdin[1]!['preview'], `${body.toString('latin1', 0, 256)}…`);
  });

  it('name a request\'s records and its end for a listener that connected after it began (no start)', () => {
    const m = new WireMirror();
    respond(m, 4, 12, 3);
    const evs = events(read([wireLine(m.take(), 5, 'fcgi')]));
    assert.deepEqual(evs.map((e) => `${e['ev']} ${e['rid']}`), ['record 5-12', 'record 5-12', 'request.end 5-12']);
    assert.equal(evs[2]!['status'], 404);
  });

  it('end a request aborted by the web server, or by a lost connection, as aborted (499)', () => {
    const m = new WireMirror();
    request(m, 1, 20, 1);
    m.recordIn(1, 20, RecordType.AbortRequest, 1, 0, 0, Buffer.alloc(0), false);
    request(m, 2, 21, 1);
    m.close(2);
    const line = wireLine(m.take(), 1, 'fcgi');
    for (const summaries of [false, true]) {
      const ends = events(read([line], summaries)).filter((e) => e['ev'] === 'request.end');
      assert.deepEqual(ends.map((e) => [e['rid'], e['status'], e['aborted']]), [['1-20', 499, true], ['1-21', 499, true]], `summaries ${summaries}`);
    }
  });

  it('shows a line it cannot decode as it came, and never throws on frames that do not fit', () => {
    const m = new WireMirror();
    request(m, 1, 1, 1);
    const b64 = m.take();
    const cut = Buffer.from(b64, 'base64').subarray(0, 50).toString('base64');
    assert.doesNotThrow(() => read([wireLine(cut, 1, 'fcgi'), wireLine(Buffer.from([9, 9, 9]).toString('base64'), 1, 'fcgi')]));
    const items = read(['{"level":20,"time":1,"pid":1,"ev":"wire","mode":"fcgi","msg":"x","v":99,"preview":256,"target":{},"b64":"AAAA"}\n']);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.kind, 'event');
  });
});

describe('a wire line that places the lines after it among its frames (`at`)', () => {
  const kinds = (items: ReturnType<typeof read>): string[] => events(items).map((e) => (e['ev'] === 'app.log' ? `log ${String(e['msg'])}` : `${e['ev']} ${e['type'] ?? ''}`.trim()));
  const log = (msg: string): string => `${JSON.stringify({ level: 30, time: 1, pid: 1, ev: 'app.log', rid: '9-1', msg })}\n`;
  /** A request whose handler logged twice before answering: the frames, and where each log came. */
  function loggedRequest(): { frames: string; marks: number[] } {
    const m = new WireMirror();
    request(m, 1, 1, 1);
    const first = m.bytes;
    const out = Buffer.from(`${HEAD}x`, 'latin1');
    m.recordOut(1, 1, RecordType.Stdout, 1, out.length, 0, out, 0, { wireHead: 0 });
    const second = m.bytes;
    respond(m, 1, 1, 1);
    return { frames: m.take(), marks: [first, second] };
  }
  const ordered = ['record BEGIN_REQUEST', 'record PARAMS', 'record PARAMS', 'record PARAMS', 'request.start', 'record STDIN', 'log one',
    'record STDOUT', 'log two', 'record STDOUT', 'record END_REQUEST', 'request.end'];

  it('show each line before the frames that came after it, whole lines or split at every byte', () => {
    const { frames, marks } = loggedRequest();
    const text = wireLine(frames, 9, 'fcgi').replace(',"b64":"', `,"at":${JSON.stringify(marks)},"b64":"`) + log('one') + log('two');
    assert.deepEqual(kinds(read([text])), ordered);
    for (let cut = 1; cut < text.length; cut += 97) assert.deepEqual(kinds(read([text.slice(0, cut), text.slice(cut)])), ordered, `cut at ${cut}`);
  });

  it('release held frames when the connection ends or another wire line comes before the lines', () => {
    const { frames, marks } = loggedRequest();
    const head = wireLine(frames, 9, 'fcgi').replace(',"b64":"', `,"at":${JSON.stringify(marks)},"b64":"`);
    const items: Array<ReadItem | GroupItem> = [];
    const reader = new NdjsonReader<ReadItem | GroupItem>((i) => items.push(i));
    reader.push(head + log('one'));
    reader.end();
    assert.deepEqual(kinds(items), ordered.filter((k) => k !== 'log two'));
    const m = new WireMirror();
    request(m, 1, 2, 2);
    const next = read([head, wireLine(m.take(), 9, 'fcgi')]);
    assert.equal(kinds(next).filter((k) => k === 'request.end').length, 1, 'the first request ends, before the next line\'s');
    assert.equal(kinds(next).filter((k) => k === 'request.start').length, 2);
  });

  it('are read whole by the dashboard (summaries), and a bad `at` is ignored', () => {
    const { frames, marks } = loggedRequest();
    const line = wireLine(frames, 9, 'fcgi').replace(',"b64":"', `,"at":${JSON.stringify(marks)},"b64":"`);
    const grouped = read([line + log('one') + log('two')], true);
    assert.equal(grouped[0]!.kind, 'group', 'the request as one summary');
    for (const bad of ['[5,2]', '"x"', '[-1]', '[1.5]']) {
      const got = kinds(read([wireLine(frames, 9, 'fcgi').replace(',"b64":"', `,"at":${bad},"b64":"`) + log('one')]));
      assert.deepEqual(got, [...ordered.filter((k) => !k.startsWith('log')), 'log one'], bad);
    }
  });
});
