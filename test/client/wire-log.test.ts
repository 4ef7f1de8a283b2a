import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWireLog, hexDump } from '../../src/client/wire-log';
import { RecordType, encodeBeginRequest, encodeEndRequest, encodeParams, encodeRecord } from '../../src/protocol';

function log(decode: boolean, raw: boolean): { text: () => string; wire: ReturnType<typeof createWireLog> } {
  let out = '';
  return { text: () => out, wire: createWireLog((t) => { out += t; }, { decode, raw }) };
}

describe('wire log (request -v / --raw)', () => {
  it('decodes records both ways, one line each; PARAMS pairs once the stream ends, even split', () => {
    const { text, wire } = log(true, false);
    const sent = Buffer.concat([encodeBeginRequest(1, 1, 1), ...encodeParams(1, [['NAME', 'value'], ['X', 'y']], 3)]);
    for (let i = 0; i < sent.length; i++) wire('out', sent.subarray(i, i + 1)); // one byte at a time
    wire('in', Buffer.concat([encodeRecord(RecordType.Stdout, 1, Buffer.from('Status: 200\r\n\r\nhi')), encodeEndRequest(1, 0, 0)]));
    const lines = text().split('\n');
    assert.equal(lines[0], '> BEGIN_REQUEST id=1 len=8 role=RESPONDER KEEP_CONN');
    assert.ok(lines.includes('>     NAME=value'), text());
    assert.ok(lines.includes('>     X=y'), text());
    assert.ok(lines.some((l) => l.startsWith('> PARAMS id=1 len=0 (end of stream: 2 pairs')), text());
    assert.ok(lines.includes('< STDOUT id=1 len=17 pad=7 "Status: 200\\r\\n\\r\\nhi"'), text());
    assert.ok(lines.includes('< END_REQUEST id=1 len=8 REQUEST_COMPLETE appStatus=0'), text());
  });

  it('says so once when bytes stop being records, and keeps dumping with --raw', () => {
    const { text, wire } = log(true, true);
    wire('in', Buffer.from('HTTP/1.1 400 Bad Request\r\n'));
    wire('in', Buffer.from('more'));
    assert.equal(text().split('\n').filter((l) => l.includes('not FastCGI records')).length, 1);
    assert.match(text(), /< 0000001a: 6d6f 7265 +more/);
  });

  it('hexDump: xxd-style rows', () => {
    assert.equal(hexDump(Buffer.from('0123456789abcdefXY'), '> '),
      '> 00000000: 3031 3233 3435 3637 3839 6162 6364 6566  0123456789abcdef\n' +
      '> 00000010: 5859                                     XY\n');
  });
});
