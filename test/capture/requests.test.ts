import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cgiEnvironment, describeRequest, inspectorUrl, replayRecords, selectRequest } from '../../src/capture/replay';
import { extractRequests } from '../../src/capture/requests';
import {
  FCGI_KEEP_CONN, RecordType, encodeBeginRequest, encodeEndRequest, encodeParams, encodeRecord,
} from '../../src/protocol';
import { captureOf } from './fixtures';

const out = (id: number, body: string): Buffer => Buffer.concat([
  encodeRecord(RecordType.Stdout, id, Buffer.from(`Status: 201 Created\r\n\r\n${body}`)), encodeRecord(RecordType.Stdout, id), encodeEndRequest(id, 0, 0),
]);

function request(id: number, uri: string, body: string, keep = true, paramsRecordSize?: number): Buffer {
  return Buffer.concat([
    encodeBeginRequest(id, 1, keep ? FCGI_KEEP_CONN : 0),
    ...encodeParams(id, [['REQUEST_METHOD', 'POST'], ['REQUEST_URI', uri]], paramsRecordSize),
    ...(body ? [encodeRecord(RecordType.Stdin, id, Buffer.from(body))] : []),
    encodeRecord(RecordType.Stdin, id),
  ]);
}

describe('requests in a capture', () => {
  it('KEEP_CONN: request id 1 used twice on one connection is two requests, each with its response', () => {
    for (const split of [0, 1, 7]) {
      const requests = extractRequests(captureOf([
        ['in', request(1, '/first', 'a')], ['out', out(1, 'A')], ['in', request(1, '/second', 'bb')], ['out', out(1, 'BB')],
      ], split));
      assert.deepEqual(requests.map((r) => [r.index, r.requestId, r.params[1]![1], r.stdin.toString(), r.response.stdout.toString().slice(-2)]),
        [[1, 1, '/first', 'a', '\nA'], [2, 1, '/second', 'bb', 'BB']], `chunks split every ${split}`);
      assert.ok(requests.every((r) => r.complete && r.response.protocolStatus === 0));
    }
  });

  it('multiplexed ids are told apart; a pair straddling PARAMS records decodes', () => {
    const one = request(1, '/one', 'x', true, 5);
    const two = request(2, '/two', 'y');
    const requests = extractRequests(captureOf([['in', two.subarray(0, 16)], ['in', one], ['in', two.subarray(16)], ['out', out(2, '2')], ['out', out(1, '1')]]));
    assert.deepEqual(requests.map((r) => [r.requestId, r.params[1]![1], r.stdin.toString(), r.response.stdout.toString().slice(-1)]),
      [[2, '/two', 'y', '2'], [1, '/one', 'x', '1']]);
    assert.match(describeRequest(requests[1]!), /^#2 t=\d+\.\d{3}ms id=1 RESPONDER KEEP_CONN POST \/one stdin=1 -> 201 REQUEST_COMPLETE app=0$/);
  });

  it('a capture cut inside STDIN replays with the missing end added, and says so', () => {
    const cut = request(1, '/cut', 'partial').subarray(0, -8); // no empty STDIN
    const [r] = extractRequests(captureOf([['in', cut]]));
    assert.equal(r!.complete, false);
    const { records, notes } = replayRecords(r!);
    assert.equal(records.length, r!.records.length + 1);
    assert.deepEqual(records.at(-1), encodeRecord(RecordType.Stdin, 1));
    assert.match(notes.join(), /stops inside STDIN/);
    assert.match(describeRequest(r!), /\(incomplete\) -> no END_REQUEST$/);
  });

  it('replayed records are the captured ones, padding lengths included', () => {
    const padded = Buffer.concat([encodeBeginRequest(1, 1, 0), encodeRecord(RecordType.Params, 1, Buffer.from([1, 1, 0x41, 0x42]), 200),
      encodeRecord(RecordType.Params, 1), encodeRecord(RecordType.Stdin, 1)]);
    const [r] = extractRequests(captureOf([['in', padded]]));
    assert.deepEqual(Buffer.concat(replayRecords(r!).records), padded);
    assert.deepEqual(r!.params, [['A', 'B']]);
  });

  it('selectRequest: #N, the only one, or the first with a note; none is CAPTURE_ERR_NO_REQUEST', () => {
    const requests = extractRequests(captureOf([['in', request(1, '/a', '')], ['in', request(2, '/b', '')]]));
    assert.equal(selectRequest(requests, 'f', 2).request.params[1]![1], '/b');
    assert.match(selectRequest(requests, 'f').note ?? '', /holds 2 requests; replaying #1/);
    assert.throws(() => selectRequest(requests, 'f', 3), { code: 'CAPTURE_ERR_NO_REQUEST' });
    assert.throws(() => selectRequest([], 'f'), { code: 'CAPTURE_ERR_NO_REQUEST' });
  });

  it('cgiEnvironment adds GATEWAY_INTERFACE so dispatch() picks CGI mode', () => {
    const [r] = extractRequests(captureOf([['in', request(1, '/a', '')]]));
    assert.deepEqual(cgiEnvironment(r!).at(-1), ['GATEWAY_INTERFACE', 'CGI/1.1']);
  });

  it('inspectorUrl finds the ws:// URL in Node\'s stderr', () => {
    assert.equal(inspectorUrl('Debugger listening on ws://127.0.0.1:9229/0f2c-11\nFor help, see: https://nodejs.org/en/docs/inspector\n'),
      'ws://127.0.0.1:9229/0f2c-11');
    assert.equal(inspectorUrl('Debugger listen'), null);
  });
});
