import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandGroup } from '../../src/trace/group-expand';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import { groupLine, RequestGroup } from '../../src/trace/request-group';
import { helloNotes } from './notes-fixture';

type Obj = Record<string, unknown>;

function helloGroup(): Obj {
  const notes = helloNotes({ rid: 'x-1' });
  const g = new RequestGroup(notes[0]!);
  for (const n of notes) g.add(n);
  return JSON.parse(groupLine(g)) as Obj;
}

describe('expandGroup', () => {
  it('expands a well-formed group; its items make the event only when asked', () => {
    const items = expandGroup(helloGroup())!;
    assert.equal(items.length, 9);
    assert.deepEqual(items.map((i) => (i.kind === 'event' ? i.event.ev : '')),
      ['record', 'record', 'record', 'request.start', 'record', 'record', 'request.end', 'record', 'record']);
  });

  const broken: Array<[string, (g: Obj) => void]> = [
    ['a record with a bad direction', (g) => { (g['records'] as unknown[][])[0]![1] = 'sideways'; }],
    ['a name that would need escaping', (g) => { (g['records'] as unknown[][])[0]![6] = 'RESP"ONDER'; }],
    ['a record type out of range', (g) => { (g['records'] as unknown[][])[1]![2] = 300; }],
    ['records that are not an array', (g) => { g['records'] = 'many'; }],
    ['a start position past the records', (g) => { (g['start'] as Obj)['at'] = 99; }],
    ['params that are not pairs', (g) => { (g['start'] as Obj)['params'] = [['A']]; }],
    ['an end without a status', (g) => { delete (g['end'] as Obj)['status']; }],
    ['an end that is not an object', (g) => { g['end'] = [1]; }],
    ['records without a connection', (g) => { delete g['conn']; }],
    ['no rid', (g) => { delete g['rid']; }],
  ];
  for (const [name, spoil] of broken) {
    it(`leaves a group with ${name} unexpanded, shown as it came`, () => {
      const g = helloGroup();
      spoil(g);
      assert.equal(expandGroup(g), undefined);
      const items: ReadItem[] = [];
      new NdjsonReader((i) => items.push(i)).push(`${JSON.stringify(g)}\n`);
      assert.equal(items.length, 1);
      assert.equal(items[0]!.kind === 'event' && items[0]!.event.ev, 'request');
    });
  }
});
