import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordNote, TraceNote } from '../../src/trace/notes';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import { groupLine, noteLine, type ParamsWire, RequestGroup } from '../../src/trace/request-group';
import { REDACTED } from '../../src/trace/redact';
import { helloNotes, SECRET_COOKIE, SECRET_SET_COOKIE } from './notes-fixture';

function groupOf(notes: TraceNote[]): RequestGroup {
  const g = new RequestGroup(notes[0]!);
  for (const n of notes) assert.equal(g.add(n), true);
  return g;
}

function read(text: string): ReadItem[] {
  const items: ReadItem[] = [];
  const reader = new NdjsonReader((i) => items.push(i));
  reader.push(text);
  reader.end();
  return items;
}

type Obj = Record<string, unknown>;

describe('grouped request lines', () => {
  it('one request of one turn is one pino line carrying its records, start and end', () => {
    const notes = helloNotes({ rid: 'g-1' });
    assert.deepEqual(notes.map((n) => n.note), ['record', 'record', 'record', 'start', 'record', 'record', 'end', 'record', 'record']);
    const line = groupLine(groupOf(notes));
    assert.ok(line.endsWith('}\n') && line.indexOf('\n') === line.length - 1, 'one line');
    const ev = JSON.parse(line) as Obj;
    assert.equal(ev['ev'], 'request');
    for (const k of ['level', 'time', 'pid']) assert.equal(typeof ev[k], 'number', `pino field ${k}`);
    assert.equal(ev['msg'], (JSON.parse(noteLine(notes[6]!)) as Obj)['msg'], 'the request.end summary');
    assert.equal(ev['level'], 30);
    assert.equal(ev['rid'], 'g-1');
    assert.equal((ev['records'] as unknown[]).length, 7);
    assert.equal((ev['start'] as Obj)['at'], 3);
    assert.equal((ev['end'] as Obj)['at'], 5);
    assert.ok(line.length < notes.map(noteLine).join('').length * 0.6, `${line.length} bytes instead of ${notes.map(noteLine).join('').length}`);
  });

  it('expands to exactly the lines and events a line per event would have carried, in order', () => {
    const notes = helloNotes({ rid: 'g-2', uri: '/ü?q="x"\u001b' });
    const items = read(groupLine(groupOf(notes)));
    assert.equal(items.length, notes.length);
    items.forEach((item, i) => {
      assert.equal(item.kind, 'event');
      if (item.kind !== 'event') return;
      const own = noteLine(notes[i]!);
      assert.equal(`${item.line}\n`, own, `line ${i}`);
      assert.deepEqual(item.event, JSON.parse(own), `event ${i}`);
    });
  });

  it('lines made one after another, alike or not, each expand to their own events (the fragments kept from line to line)', () => {
    const specs = [
      { rid: 'h-1' }, { rid: 'h-2' }, { rid: 'h-3', uri: '/other' }, { rid: 'h-4', uri: '/other', status: 404 },
      { rid: 'h-5', requestId: 2, conn: 9 }, { rid: 'h-6', status: 500, uri: '/ü' }, { rid: 'h-7' },
    ];
    for (const spec of specs) {
      const notes = helloNotes(spec);
      const items = read(groupLine(groupOf(notes)));
      assert.equal(items.length, notes.length, spec.rid);
      items.forEach((item, i) => {
        assert.equal(item.kind === 'event' ? `${item.line}\n` : item, noteLine(notes[i]!), `${spec.rid} line ${i}`);
      });
    }
  });

  it('requests of the same millisecond with other records, or records of mixed times, get their own records list', () => {
    const base = helloNotes({ rid: 'm-1' });
    const time = base[0]!.time;
    const at = (notes: TraceNote[], t: (i: number) => number): TraceNote[] => notes.map((n, i) => ({ ...n, time: t(i) }));
    const variants: TraceNote[][] = [
      at(base, () => time),
      at(base, () => time),
      at(base.map((n) => (n.note === 'record' && n.type === 6 && n.contentLength > 0 ? { ...n, contentLength: n.contentLength + 1 } : n)), () => time),
      at(base, (i) => time + (i > 4 ? 1 : 0)),
      at(base, () => time),
      at(base.slice(0, 8), () => time),
    ];
    for (const notes of variants) {
      const items = read(groupLine(groupOf(notes)));
      assert.equal(items.length, notes.length);
      items.forEach((item, i) => assert.equal(item.kind === 'event' ? `${item.line}\n` : item, noteLine(notes[i]!), `line ${i}`));
    }
  });

  it('keeps secrets out of the grouped line: cookie params, Set-Cookie headers and bodies', () => {
    const line = groupLine(groupOf(helloNotes()));
    assert.ok(!line.includes(SECRET_COOKIE) && !line.includes(SECRET_SET_COOKIE) && !line.includes('body'), line);
    const ev = JSON.parse(line) as { params: Array<[string, string]>; headers: Array<[string, string]> };
    assert.deepEqual(ev.params.find(([n]) => n === 'HTTP_COOKIE'), ['HTTP_COOKIE', REDACTED]);
    assert.deepEqual(ev.headers.find(([n]) => n === 'Set-Cookie'), ['Set-Cookie', REDACTED]);
  });

  it('a turn with records only (a long upload going on) makes a records-only line', () => {
    const records = helloNotes({ rid: 'g-3', requestId: 4 }).filter((n): n is RecordNote => n.note === 'record').slice(0, 2);
    const line = groupLine(groupOf(records));
    const ev = JSON.parse(line) as Obj;
    assert.equal(ev['level'], 20);
    assert.equal(ev['msg'], '2 records of request 4');
    assert.equal(ev['start'], undefined);
    assert.deepEqual(read(line).map((i) => (i.kind === 'event' ? i.line : i.text)), records.map((n) => noteLine(n).slice(0, -1)));
  });

  it('an end without its start in the same line carries the method and uri itself', () => {
    const notes = helloNotes({ rid: 'g-4' });
    const tail = notes.slice(6);
    const items = read(groupLine(groupOf(tail)));
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? i.line : '')), tail.map((n) => noteLine(n).slice(0, -1)));
  });

  it('writes the fields of fixed size first and the lists (records, params, headers) last', () => {
    const ev = JSON.parse(groupLine(groupOf(helloNotes({ rid: 'g-5' })))) as Obj;
    assert.deepEqual(Object.keys(ev), ['level', 'time', 'pid', 'ev', 'mode', 'msg', 'rid', 'conn', 'requestId', 'start', 'end', 'records', 'params', 'headers']);
    assert.deepEqual(Object.keys(ev['start'] as Obj), ['at', 'time', 'method', 'uri', 'url', 'mountPoint', 'role']);
    assert.deepEqual(Object.keys(ev['end'] as Obj), ['at', 'time', 'level', 'status', 'bytesIn', 'bytesOut', 'durationMs', 'aborted']);
  });

  it('an older line with the params in start and the headers in end still expands', () => {
    const notes = helloNotes({ rid: 'g-6' });
    const ev = JSON.parse(groupLine(groupOf(notes))) as Obj;
    (ev['start'] as Obj)['params'] = ev['params'];
    (ev['end'] as Obj)['headers'] = ev['headers'];
    delete ev['params'];
    delete ev['headers'];
    const items = read(`${JSON.stringify(ev)}\n`);
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? `${i.line}\n` : '')), notes.map(noteLine));
  });

  it('with a connection\'s wire: the params base once, then only the changes; every reader rebuilds the whole params', () => {
    const wire: ParamsWire = { sent: undefined };
    const specs = [{ rid: 'd-1' }, { rid: 'd-2', uri: '/two' }, { rid: 'd-3', uri: '/three?"q"' }];
    const notes = specs.map((spec) => helloNotes(spec));
    const lines = notes.map((n) => groupLine(groupOf(n), wire));
    const evs = lines.map((l) => JSON.parse(l) as Obj);
    assert.ok(evs[0]!['paramsBase'] !== undefined && evs[0]!['params'] === undefined, 'the first line carries the base');
    for (const ev of evs.slice(1)) {
      assert.deepEqual(Object.keys(ev).slice(-2), ['paramsDelta', 'headers'], 'then only the changes');
    }
    assert.deepEqual(evs[1]!['paramsDelta'], [[1, '/two']]);
    assert.ok(lines.every((l) => !l.includes(SECRET_COOKIE)));
    // One reader for the connection: every line expands to what a line per event would have said.
    const items = read(lines.join(''));
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? `${i.line}\n` : i.text)), notes.flat().map(noteLine));
    // A reader that never got the base (a later line on its own) does not make up params.
    const alone = read(lines[1]!);
    assert.equal(alone.length, 1, 'shown as it came');
    assert.ok(alone.every((i) => i.kind !== 'event' || i.event.ev !== 'request.start'));
    // A new connection (a new wire) is sent the base again, though the producer's base is the same.
    const again = JSON.parse(groupLine(groupOf(helloNotes({ rid: 'd-4', uri: '/four' })), { sent: undefined })) as Obj;
    assert.ok(again['paramsBase'] !== undefined);
    // A new base (other names) goes whole again on the same connection.
    const before = wire.sent;
    const other = helloNotes({ rid: 'd-5', extraParam: true });
    const next = JSON.parse(groupLine(groupOf(other), wire)) as Obj;
    assert.notEqual(wire.sent, before);
    assert.ok(next['paramsBase'] !== undefined);
  });

  it('refuses a second start or end (the sink then writes that note on its own)', () => {
    const notes = helloNotes();
    const g = groupOf(notes);
    assert.equal(g.add(notes[3]!), false);
    assert.equal(g.add(notes[6]!), false);
  });
});
