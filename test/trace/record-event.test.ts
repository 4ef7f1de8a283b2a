import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeBeginRequest, encodeEndRequest, encodeGetValuesResult, encodeParams, encodeRecord, encodeUnknownType,
  FCGI_KEEP_CONN, type FastCGIRecord, ProtocolStatus, RecordDecoder, RecordType, Role,
} from '../../src/protocol';
import { recordEvent } from '../../src/trace/record-event';
import { preview, REDACTED, redactHeaders, traceOptions } from '../../src/trace/redact';

function decode(...bufs: Buffer[]): FastCGIRecord[] {
  const out: FastCGIRecord[] = [];
  new RecordDecoder((r) => out.push(r)).push(Buffer.concat(bufs));
  return out;
}

describe('record events', () => {
  afterEach(() => { traceOptions.showSecrets = false; });

  it('decode BEGIN_REQUEST role and KEEP_CONN', () => {
    const e = recordEvent(decode(encodeBeginRequest(3, Role.Authorizer, FCGI_KEEP_CONN))[0]!, 'in', 1, 'fcgi', 'r-1');
    assert.equal(e.type, 'BEGIN_REQUEST');
    assert.equal(e.role, 'AUTHORIZER');
    assert.equal(e.keepConn, true);
    assert.equal(e.rid, 'r-1');
    assert.equal(e.requestId, 3);
  });

  it('decode PARAMS as pairs with secrets redacted, and shown when asked', () => {
    const [rec] = decode(encodeParams(1, [['HTTP_AUTHORIZATION', 'Basic eA=='], ['HTTP_COOKIE', 's=1'], ['A', 'b']])[0]!);
    assert.deepEqual(recordEvent(rec!, 'in', 1, 'fcgi').params, [['HTTP_AUTHORIZATION', REDACTED], ['HTTP_COOKIE', REDACTED], ['A', 'b']]);
    traceOptions.showSecrets = true;
    assert.deepEqual(recordEvent(rec!, 'in', 1, 'fcgi').params?.[0], ['HTTP_AUTHORIZATION', 'Basic eA==']);
  });

  it('say so when a PARAMS record ends inside a pair (the pair continues in the next record)', () => {
    const records = decode(...encodeParams(1, [['NAME', 'x'.repeat(40)]], 10));
    assert.match(recordEvent(records[0]!, 'in', 1, 'fcgi').params![0]![0], /continue in the next record/);
  });

  it('decode END_REQUEST statuses, GET_VALUES_RESULT and UNKNOWN_TYPE', () => {
    const end = recordEvent(decode(encodeEndRequest(1, 2, ProtocolStatus.CantMpxConn))[0]!, 'out', 1, 'fcgi');
    assert.equal(end.protocolStatus, 'CANT_MPX_CONN');
    assert.equal(end.appStatus, 2);
    assert.deepEqual(recordEvent(decode(encodeGetValuesResult([['FCGI_MPXS_CONNS', '1']]))[0]!, 'out', 1, 'fcgi').values, [['FCGI_MPXS_CONNS', '1']]);
    assert.equal(recordEvent(decode(encodeUnknownType(42))[0]!, 'out', 1, 'fcgi').unknownType, 42);
  });

  it('redact STDIN/STDOUT bodies by default, always show STDERR, preview bounded and escaped', () => {
    const out = decode(encodeRecord(RecordType.Stdout, 1, Buffer.from('Status: 200\r\n\r\nsecret body')))[0]!;
    assert.equal(recordEvent(out, 'out', 1, 'fcgi').preview, undefined);
    assert.equal(recordEvent(out, 'out', 1, 'fcgi').redacted, true);
    traceOptions.showSecrets = true;
    assert.equal(recordEvent(out, 'out', 1, 'fcgi').preview, 'Status: 200\\r\\n\\r\\nsecret body');
    traceOptions.showSecrets = false;
    const err = decode(encodeRecord(RecordType.Stderr, 1, Buffer.from('oops\n')))[0]!;
    assert.equal(recordEvent(err, 'out', 1, 'fcgi').preview, 'oops\\n');
    assert.equal(preview(Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0xff]), 10), '\\x1b[2J\\xff');
    assert.equal(preview(Buffer.alloc(20, 0x41), 4), 'AAAA…');
  });

  it('never throw on a malformed body', () => {
    const bad = decode(encodeRecord(RecordType.BeginRequest, 1, Buffer.alloc(3)))[0]!;
    assert.match(recordEvent(bad, 'in', 1, 'fcgi').msg, /malformed/);
  });

  it('redact Set-Cookie in response headers', () => {
    assert.deepEqual(redactHeaders([['Set-Cookie', 'a=1'], ['X', 'y']]), [['Set-Cookie', REDACTED], ['X', 'y']]);
  });
});
