import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { spawnSync } from 'node:child_process';
import {
  FastCGIRecord, FCGI_KEEP_CONN, NameValuePair, ParamsStream, ProtocolStatus, RecordDecoder, RecordType, Role,
  decodeBeginRequestBody, decodeEndRequestBody, decodePairs, encodeBeginRequest, encodeEndRequest, encodePairs,
  encodeRecord,
} from '../../src/protocol';

/**
 * The part of fastcgi-stream 1.0.0 these tests use (it ships no types). Records are class instances
 * whose prototype carries TYPE; a pair with an empty value is decoded as a bare name string.
 */
interface PeerRecord {
  readonly TYPE: number;
  role?: number;
  flags?: number;
  appStatus?: number;
  protocolStatus?: number;
  params?: Array<string | [string, string]>;
  data?: Buffer | string;
}
interface PeerSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
}
interface PeerStream {
  on(event: 'record', listener: (requestId: number, record: PeerRecord) => void): unknown;
}
interface PeerModule {
  FastCGIStream: new (source: PeerSource) => PeerStream;
}
const peer: PeerModule = require('fastcgi-stream');

/** Comparable: one record reduced to what both decoders must agree on. */
type Comparable = [requestId: number, type: number, meaning: unknown];

function viaPeer(chunks: Buffer[]): Comparable[] {
  const source = new EventEmitter();
  const stream = new peer.FastCGIStream(source);
  const out: Comparable[] = [];
  stream.on('record', (requestId, r) => out.push([requestId, r.TYPE, peerMeaning(r)]));
  for (const chunk of chunks) source.emit('data', chunk);
  return out;
}

function peerMeaning(r: PeerRecord): unknown {
  switch (r.TYPE) {
    case RecordType.BeginRequest: return { role: r.role, flags: r.flags };
    case RecordType.EndRequest: return { appStatus: r.appStatus, protocolStatus: r.protocolStatus };
    case RecordType.Params: return (r.params ?? []).map((p) => (typeof p === 'string' ? [p, ''] : p));
    default: return typeof r.data === 'string' ? r.data : r.data!.toString('latin1');
  }
}

function viaOurs(chunks: Buffer[]): Comparable[] {
  const out: Comparable[] = [];
  const decoder = new RecordDecoder((r) => out.push([r.requestId, r.type, ourMeaning(r)]));
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return out;
}

function ourMeaning(r: FastCGIRecord): unknown {
  switch (r.type) {
    case RecordType.BeginRequest: return decodeBeginRequestBody(r.content);
    case RecordType.EndRequest: return decodeEndRequestBody(r.content);
    case RecordType.Params: return decodePairs(r.content);
    default: return r.content.toString('latin1');
  }
}

/** agree: both decoders read `wire` the same, whole and split at every byte boundary. */
function assertAgree(wire: Buffer, expected: Comparable[]): void {
  assert.deepEqual(viaOurs([wire]), expected);
  assert.deepEqual(viaPeer([wire]), expected);
  for (let i = 1; i < wire.length; i++) {
    assert.deepEqual(viaPeer([wire.subarray(0, i), wire.subarray(i)]), expected, `peer split at ${i}`);
  }
}

const params = (pairs: NameValuePair[], requestId = 1): Buffer =>
  encodeRecord(RecordType.Params, requestId, encodePairs(pairs));

describe('cross-check with fastcgi-stream 1.0.0 where it is correct', () => {
  it('agrees on BEGIN_REQUEST for each role, with and without KEEP_CONN', () => {
    for (const role of [Role.Responder, Role.Authorizer, Role.Filter]) {
      for (const flags of [0, FCGI_KEEP_CONN]) {
        assertAgree(encodeBeginRequest(258, role, flags), [[258, RecordType.BeginRequest, { role, flags }]]);
      }
    }
  });

  it('agrees on END_REQUEST for each protocol status and a full-range appStatus', () => {
    const statuses = [ProtocolStatus.RequestComplete, ProtocolStatus.CantMpxConn, ProtocolStatus.Overloaded,
      ProtocolStatus.UnknownRole];
    for (const protocolStatus of statuses) {
      for (const appStatus of [0, 1, 0x7fffffff, 0xffffffff]) {
        assertAgree(encodeEndRequest(1, appStatus, protocolStatus),
          [[1, RecordType.EndRequest, { appStatus, protocolStatus }]]);
      }
    }
  });

  it('agrees on STDIN bytes, every byte value, and the empty end-of-stream record', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const wire = Buffer.concat([encodeRecord(RecordType.Stdin, 3, all), encodeRecord(RecordType.Stdin, 3)]);
    assertAgree(wire, [[3, RecordType.Stdin, all.toString('latin1')], [3, RecordType.Stdin, '']]);
  });

  // ASCII only: fastcgi-stream decodes names and values as UTF-8, we keep the bytes as latin-1.
  it('agrees on PARAMS pairs within one record, four-byte lengths and empty values included', () => {
    const pairs: NameValuePair[] = [
      ['REQUEST_METHOD', 'GET'], ['CONTENT_LENGTH', ''], ['HTTP_COOKIE', 'k='.repeat(100)], ['N'.repeat(129), 'v'],
    ];
    assertAgree(Buffer.concat([params(pairs), params([])]),
      [[1, RecordType.Params, pairs], [1, RecordType.Params, []]]);
  });

  it('agrees on PARAMS split across records on pair boundaries (Apache mod_proxy_fcgi)', () => {
    const wire = Buffer.concat([params([['A', '1'], ['B', '2']]), params([['C', '3']]), params([])]);
    assertAgree(wire, [
      [1, RecordType.Params, [['A', '1'], ['B', '2']]], [1, RecordType.Params, [['C', '3']]], [1, RecordType.Params, []],
    ]);
  });
});

describe('fastcgi-stream 1.0.0 documented failures (DESIGN "Known traps")', () => {
  it('fastcgi-stream corrupts a name-value pair split across two PARAMS records; ours decodes it', () => {
    // 04 05 "NAM" | "EVALUE": the spec lets a pair straddle records (3.4); all three servers may do it.
    const wire = Buffer.from(
      '0104000100050300' + '04054e414d' + '000000' +
      '0104000100060200' + '4556414c5545' + '0000' +
      '0104000100000000', 'hex');
    const theirs = viaPeer([wire]).flatMap(([, , pairs]) => pairs as Array<[string, string]>);
    assert.ok(theirs.length > 0, 'fastcgi-stream emitted PARAMS records');
    assert.notDeepEqual(theirs, [['NAME', 'VALUE']]);
    assert.ok(!theirs.some(([n, v]) => n === 'NAME' && v === 'VALUE'), `fastcgi-stream gave ${JSON.stringify(theirs)}`);

    const stream = new ParamsStream(1024);
    const decoder = new RecordDecoder((r) => {
      if (r.contentLength > 0) stream.append(r.content);
    });
    decoder.push(wire);
    decoder.end();
    assert.deepEqual(stream.decode(), [['NAME', 'VALUE']]);
  });

  it('fastcgi-stream crashes the process on a record of unknown type; ours emits the record', () => {
    // Run fastcgi-stream in a child: the TypeError is thrown inside its 'data' handler, where no caller
    // can catch it, so it takes the whole process down (as it does node-fastcgi's server).
    const script = `
      const { FastCGIStream } = require(${JSON.stringify(require.resolve('fastcgi-stream'))});
      const { PassThrough } = require('node:stream');
      const socket = new PassThrough();
      new FastCGIStream(socket).on('record', () => {});
      socket.write(Buffer.from('010c000100080000' + '00'.repeat(8), 'hex'));
      setTimeout(() => process.stdout.write('survived'), 200);
    `;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(child.status, 0, 'the child process died');
    assert.equal(child.stdout, '');
    assert.match(child.stderr, /TypeError: .*is not a constructor/);

    const ours = viaOurs([Buffer.from('010c000100080000' + '00'.repeat(8), 'hex')]);
    assert.deepEqual(ours, [[1, 12, '\0'.repeat(8)]]);
  });
});
