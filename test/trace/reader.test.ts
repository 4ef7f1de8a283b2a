import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonReader, parseLine, stripUnsafe, type ReadItem } from '../../src/trace/reader';

function read(chunks: Array<string | Buffer>, maxLineBytes?: number): ReadItem[] {
  const items: ReadItem[] = [];
  const reader = new NdjsonReader((i) => items.push(i), maxLineBytes === undefined ? {} : { maxLineBytes });
  for (const c of chunks) reader.push(c);
  reader.end();
  return items;
}

const event = (n: number): string => JSON.stringify({ level: 30, time: n, pid: 1, msg: `m${n}`, ev: 'app.log', stream: 'log' });

describe('stripUnsafe', () => {
  const cases: Array<[string, string, string]> = [
    ['CSI color', 'a\x1b[31mred\x1b[0m', 'a[31mred[0m'],
    ['OSC title', '\x1b]0;pwned\x07x', ']0;pwnedx'],
    ['C1 CSI', 'a\u009b2Jb', 'a2Jb'],
    ['NUL, BEL, BS, DEL', 'a\0b\x07c\bd\x7fe', 'abcde'],
    ['CR (rewrites the line)', 'ok\rEVIL', 'okEVIL'],
    ['tab and newline kept', 'a\tb\nc', 'a\tb\nc'],
    ['unicode kept', 'héllo → ✓', 'héllo → ✓'],
  ];
  for (const [name, input, output] of cases) it(`strips ${name}`, () => assert.equal(stripUnsafe(input), output));
});

describe('NdjsonReader', () => {
  it('reads one event per line', () => {
    const items = read([`${event(1)}\n${event(2)}\n`]);
    assert.deepEqual(items.map((i) => i.kind === 'event' && i.event.msg), ['m1', 'm2']);
    assert.deepEqual(items.map((i) => i.kind === 'event' && i.line), [event(1), event(2)], 'each event with the line it came from');
  });

  it('joins a line split at every byte boundary', () => {
    const text = `${event(1)}\n${event(2)}\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const items = read([text.slice(0, cut), text.slice(cut)]);
      assert.equal(items.length, 2, `cut at ${cut}`);
      assert.ok(items.every((i) => i.kind === 'event'), `cut at ${cut}`);
    }
  });

  it('joins a multi-byte character split across Buffer chunks', () => {
    const bytes = Buffer.from(`${JSON.stringify({ ev: 'app.log', msg: 'café ✓' })}\n`);
    const at = bytes.indexOf(Buffer.from('✓')) + 1; // inside the 3-byte sequence
    const items = read([bytes.subarray(0, at), bytes.subarray(at)]);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.kind === 'event' && items[0].event.msg, 'café ✓', 'a split UTF-8 sequence must not become U+FFFD');
  });

  it('reads a last line without its newline on end()', () => {
    const items = read([event(1)]);
    assert.equal(items.length, 1);
  });

  it('skips blank lines and turns CRLF lines into events', () => {
    const items = read([`\n\n${event(1)}\r\n   \n`]);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.kind, 'event');
  });

  it('passes non-JSON lines through as text, control characters stripped', () => {
    const items = read(['hello \x1b[2Jworld\n', '{not json\n', '[1,2]\n', '"str"\n', 'null\n']);
    assert.deepEqual(items, [
      { kind: 'text', text: 'hello [2Jworld' },
      { kind: 'text', text: '{not json' },
      { kind: 'text', text: '[1,2]' },
      { kind: 'text', text: '"str"' },
      { kind: 'text', text: 'null' },
    ]);
  });

  it('treats a pino line without `ev` as an app log', () => {
    const items = read([`${JSON.stringify({ level: 40, time: 1, pid: 2, msg: 'from pino' })}\n`]);
    assert.equal(items[0]!.kind, 'event');
    const ev = (items[0] as { event: Record<string, unknown> }).event;
    assert.equal(ev['ev'], 'app.log');
    assert.equal(ev['msg'], 'from pino');
  });

  it('cuts an over-long line arriving in chunks, shows its start as text, and resumes after it', () => {
    const long = `{"ev":"app.log","msg":"${'x'.repeat(5000)}"}`;
    const chunks: string[] = [];
    for (let i = 0; i < long.length; i += 512) chunks.push(long.slice(i, i + 512));
    const items = read([...chunks, `\n${event(9)}\n`], 1024);
    assert.equal(items.length, 2);
    assert.equal(items[0]!.kind, 'text');
    assert.match((items[0] as { text: string }).text, /line over 1024 bytes cut/);
    assert.ok((items[0] as { text: string }).text.length < 400);
    assert.equal(items[1]!.kind === 'event' && items[1].event.msg, 'm9');
  });

  it('cuts an over-long line that arrives whole in one chunk', () => {
    const items = read([`{"ev":"app.log","msg":"${'x'.repeat(5000)}"}\n`], 1024);
    assert.equal(items[0]!.kind, 'text');
  });
});

describe('parseLine', () => {
  it('keeps every field of an event', () => {
    const line = JSON.stringify({ level: 30, time: 5, pid: 6, msg: 'x', ev: 'record', dir: 'in', type: 'PARAMS', params: [['A', 'b']] });
    const parsed = parseLine(line);
    assert.equal(parsed.kind, 'event');
    assert.deepEqual((parsed as { event: unknown }).event, JSON.parse(line));
  });
});
