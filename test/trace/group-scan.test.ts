import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type GroupItem, scanGroup } from '../../src/trace/group-scan';
import type { TraceNote } from '../../src/trace/notes';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import { groupLine, RequestGroup } from '../../src/trace/request-group';
import { helloNotes, type HelloSpec } from './notes-fixture';

type Obj = Record<string, unknown>;

function lineOf(notes: TraceNote[]): string {
  const g = new RequestGroup(notes[0]!);
  for (const n of notes) g.add(n);
  return groupLine(g).slice(0, -1);
}

const hello = (spec: HelloSpec = {}): string => lineOf(helloNotes(spec));

describe('scanGroup', () => {
  it('reads the summary of a grouped line as JSON.parse reads those fields', () => {
    const line = hello({ rid: 's-1', uri: '/a/b?c=d', status: 404, requestId: 7, conn: 9 });
    const ev = JSON.parse(line) as Obj;
    const start = ev['start'] as Obj;
    const end = ev['end'] as Obj;
    assert.deepEqual(scanGroup(line), {
      level: ev['level'], time: ev['time'], pid: ev['pid'], mode: 'fcgi', msg: ev['msg'], rid: 's-1', conn: 9, requestId: 7,
      records: (ev['records'] as unknown[]).length, hasStart: true, startAt: start['at'], startTime: start['time'], method: 'GET',
      uri: '/a/b?c=d', url: '/a/b?c=d', mountPoint: '', role: 'RESPONDER', hasEnd: true, endAt: end['at'], endTime: end['time'],
      endLevel: end['level'], status: 404, bytesIn: 0, bytesOut: 14, durationMs: end['durationMs'], aborted: false,
    });
  });

  it('reads a line without start or end, and an end that names the method and uri itself', () => {
    const notes = helloNotes({ rid: 's-2', uri: '/tail' });
    const records = scanGroup(lineOf(notes.slice(0, 2)))!;
    assert.equal(records.records, 2);
    assert.equal(records.hasStart || records.hasEnd, false);
    const end = scanGroup(lineOf(notes.slice(6)))!;
    assert.deepEqual([end.hasStart, end.hasEnd, end.method, end.uri, end.records], [false, true, 'GET', '/tail', 2]);
  });

  it('gives up on what it cannot read without JSON.parse: escapes, other key orders, bad numbers, no closing brace', () => {
    const line = hello({ rid: 's-3', uri: '/plain' });
    assert.notEqual(scanGroup(line), undefined);
    for (const [why, bad] of [
      ['an escaped uri', hello({ uri: '/q="x"' })],
      ['a control character', line.replace('"/plain"', '"/pl\u0001ain"')],
      ['keys in another order', line.replace('"level":30,"time":', '"time":').replace(',"pid":', ',"level":30,"pid":')],
      ['a leading zero', line.replace(',"requestId":1,', ',"requestId":01,')],
      ['a number that is not one', line.replace('"bytesOut":14', '"bytesOut":1e')],
      ['a start past the records', line.replace('"start":{"at":3', '"start":{"at":30')],
      ['no end of object', line.slice(0, -1)],
      ['another kind of line', line.replace('"ev":"request"', '"ev":"request.end"')],
    ] as const) assert.equal(scanGroup(bad), undefined, why);
  });

  it('with summaries, a reader hands on a grouped line it can scan as one group item, any other as its events', () => {
    const items: Array<ReadItem | GroupItem> = [];
    const reader = new NdjsonReader<ReadItem | GroupItem>((i) => items.push(i), { summaries: true });
    reader.push(`${hello({ rid: 's-4', uri: '/plain' })}\n${hello({ rid: 's-5', uri: '/"quoted"' })}\n`);
    assert.equal(items[0]!.kind, 'group');
    assert.equal(items[0]!.kind === 'group' && items[0]!.group.rid, 's-4');
    assert.equal(items.length, 1 + 9, 'the line it could not scan came as its nine events');
    assert.ok(items.slice(1).every((i) => i.kind === 'event'));
  });
});
