import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/fastcgi/limits';
import { decodeParamList } from '../../src/fastcgi/param-list';
import { encodePairs, RecordType } from '../../src/protocol';
import { traceOptions } from '../../src/trace/redact';
import { FrameKind, PARAMS_DELTA_FRAME_BYTES, PARAMS_FRAME_BYTES, rebuildParams } from '../../src/trace/wire-format';
import { WireMirror, wireLine } from '../../src/trace/wire-mirror';
import { events, read } from './wire-fixture';

type Pairs = Array<[string, string]>;

const NGINX: Pairs = [
  ['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/'], ['SCRIPT_NAME', ''], ['DOCUMENT_ROOT', '/srv/html'], ['REMOTE_ADDR', '127.0.0.1'],
  ['REMOTE_PORT', '60468'], ['HTTP_COOKIE', 'session=s3cret-one'], ['HTTP_HOST', 'example.test'], ['PATH_INFO', '/'],
];
const withValue = (pairs: Pairs, name: string, value: string): Pairs => pairs.map(([n, v]) => [n, n === name ? value : v]);

/** exchange: one request's frames (BEGIN_REQUEST, PARAMS, the stream's end and END_REQUEST) as a connection appends them. */
function exchange(m: WireMirror, conn: number, rid: number, pairs: Pairs): void {
  const params = encodePairs(pairs);
  m.recordIn(conn, rid, RecordType.BeginRequest, 1, 8, 0, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]), false);
  m.recordIn(conn, rid, RecordType.Params, 1, params.length, 0, params, false);
  m.recordIn(conn, rid, RecordType.Params, 1, 0, 0, Buffer.alloc(0), false);
  m.params(conn, rid, 1, params, decodeParamList(params, DEFAULT_LIMITS));
  m.recordIn(conn, rid, RecordType.Stdin, 1, 0, 0, Buffer.alloc(0), false);
  m.tick();
  const out = Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhi', 'latin1');
  m.recordOut(conn, rid, RecordType.Stdout, 1, out.length, 0, out, 0, { wireHead: 0 });
  m.recordOut(conn, rid, RecordType.EndRequest, 1, 8, 0, Buffer.alloc(8), 0, null);
}

/** paramsFrames: the kinds and sizes of a batch's PARAMS and DELTA frames, found by their frame heads (test data only). */
function paramsKinds(b64: string): number[] {
  const b = Buffer.from(b64, 'base64');
  const kinds: number[] = [];
  for (let at = 0; at < b.length;) {
    const kind = b[at]!;
    if (kind === FrameKind.time) at += 9;
    else if (kind === FrameKind.recordIn || kind === FrameKind.recordOut) at += 22 + b.readUInt32LE(at + 18);
    else if (kind === FrameKind.params) {
      kinds.push(kind);
      at += PARAMS_FRAME_BYTES + b.readUInt32LE(at + 12);
    } else if (kind === FrameKind.paramsDelta) {
      kinds.push(kind);
      at += PARAMS_DELTA_FRAME_BYTES + b.readUInt32LE(at + 20);
    } else throw new Error(`frame kind ${kind}`);
  }
  return kinds;
}

/** streamsOf: each request's PARAMS stream as a reader rebuilds it from a batch's PARAMS and DELTA frames (test data only). */
function streamsOf(b64: string): Buffer[] {
  const b = Buffer.from(b64, 'base64');
  const out: Buffer[] = [];
  let base = Buffer.alloc(0);
  for (let at = 0; at < b.length;) {
    const kind = b[at]!;
    if (kind === FrameKind.time) at += 9;
    else if (kind === FrameKind.recordIn || kind === FrameKind.recordOut) at += 22 + b.readUInt32LE(at + 18);
    else if (kind === FrameKind.params) {
      const end = at + PARAMS_FRAME_BYTES + b.readUInt32LE(at + 12);
      out.push(base = Buffer.from(b.subarray(at + PARAMS_FRAME_BYTES, end)));
      at = end;
    } else {
      const end = at + PARAMS_DELTA_FRAME_BYTES + b.readUInt32LE(at + 20);
      out.push(rebuildParams(base, b.readUInt32LE(at + 12), b.subarray(at + PARAMS_DELTA_FRAME_BYTES, end), b.readUInt32LE(at + 16)));
      at = end;
    }
  }
  return out;
}



/** starts: each request's rid and params, as a reader shows them (with and without summaries, which must agree). */
function starts(lines: string[]): Array<[unknown, unknown]> {
  const plain = events(read(lines, false)).filter((e) => e['ev'] === 'request.start').map((e): [unknown, unknown] => [e['rid'], e['params']]);
  const gathered = events(read(lines, true)).filter((e) => e['ev'] === 'request.start').map((e): [unknown, unknown] => [e['rid'], e['params']]);
  assert.deepEqual(gathered, plain);
  return plain;
}

const redacted = (pairs: Pairs): Pairs => pairs.map(([n, v]) => [n, n === 'HTTP_COOKIE' ? '[redacted]' : v]);

describe('wire mirror: PARAMS as a change from the last whole stream', () => {
  afterEach(() => {
    traceOptions.showSecrets = false;
  });

  it('sends the first stream whole and the next as a DELTA, which readers rebuild exactly', () => {
    const m = new WireMirror();
    const second = withValue(NGINX, 'REMOTE_PORT', '1234');
    const third = withValue(NGINX, 'REQUEST_URI', '/a/much/longer/path?q=1');
    exchange(m, 1, 1, NGINX);
    exchange(m, 1, 2, second);
    const first = m.take();
    exchange(m, 2, 3, third);
    exchange(m, 2, 4, NGINX);
    const next = m.take();
    assert.deepEqual(paramsKinds(first), [FrameKind.params, FrameKind.paramsDelta]);
    assert.deepEqual(paramsKinds(next), [FrameKind.paramsDelta, FrameKind.paramsDelta]);
    const lines = [wireLine(first, 7, 'fcgi'), wireLine(next, 7, 'fcgi')];
    assert.deepEqual(starts(lines), [['7-1', redacted(NGINX)], ['7-2', redacted(second)], ['7-3', redacted(third)], ['7-4', redacted(NGINX)]]);
    // The dashboard's summary reads method and uri from the rebuilt stream.
    const groups = read(lines, true).flatMap((i) => (i.kind === 'group' ? [i.group] : []));
    assert.deepEqual(groups.map((g) => [g.rid, g.method, g.uri]),
      [['7-1', 'GET', '/'], ['7-2', 'GET', '/'], ['7-3', 'GET', '/a/much/longer/path?q=1'], ['7-4', 'GET', '/']]);
  });

  it('sends a stream whole when most of it changed, and the next DELTA changes that new base; a pair added is a DELTA', () => {
    const m = new WireMirror();
    const other: Pairs = [...NGINX, ['HTTP_ACCEPT', '*/*']];
    const otherNext = withValue(other, 'REMOTE_PORT', '2');
    const most = withValue(withValue(otherNext, 'REQUEST_URI', '/x'.repeat(40)), 'HTTP_ACCEPT', 'text/html'.repeat(8));
    const mostNext = withValue(most, 'REMOTE_PORT', '3');
    [NGINX, other, otherNext, most, mostNext].forEach((pairs, i) => exchange(m, 1, i + 1, pairs));
    const b64 = m.take();
    const kinds = paramsKinds(b64);
    assert.deepEqual([kinds[0], kinds[1], kinds[3], kinds[4]], [FrameKind.params, FrameKind.paramsDelta, FrameKind.params, FrameKind.paramsDelta]);
    assert.deepEqual(starts([wireLine(b64, 7, 'fcgi')]).map(([, p]) => p), [NGINX, other, otherNext, most, mostNext].map(redacted));
  });

  it('sends a stream whole after a listener connects (clear), and a reader that missed the base shows no params', () => {
    const m = new WireMirror();
    exchange(m, 1, 1, NGINX);
    m.take();
    exchange(m, 1, 2, NGINX);
    const deltaOnly = m.take();
    assert.deepEqual(paramsKinds(deltaOnly), [FrameKind.paramsDelta]);
    // A reader that connected after the base was sent: no start (as for a request already in flight), never made-up params.
    for (const summaries of [false, true]) {
      const evs = events(read([wireLine(deltaOnly, 7, 'fcgi')], summaries));
      assert.equal(evs.filter((e) => e['ev'] === 'request.start').length, 0);
      assert.equal(evs.filter((e) => e['ev'] === 'record' && e['type'] === 'END_REQUEST').length, 1);
    }
    m.clear(); // the sink does this when a listener connects
    exchange(m, 1, 3, NGINX);
    const fresh = m.take();
    assert.deepEqual(paramsKinds(fresh), [FrameKind.params]);
    assert.deepEqual(starts([wireLine(fresh, 7, 'fcgi')]), [['7-3', redacted(NGINX)]]);
  });

  it('masks a secret that changed in the DELTA, and never sends it', () => {
    const m = new WireMirror();
    const changed = withValue(NGINX, 'HTTP_COOKIE', 'session=s3cret-two');
    exchange(m, 1, 1, NGINX);
    exchange(m, 1, 2, changed);
    const b64 = m.take();
    assert.deepEqual(paramsKinds(b64), [FrameKind.params, FrameKind.paramsDelta]);
    assert.equal(Buffer.from(b64, 'base64').includes('s3cret'), false);
    assert.deepEqual(starts([wireLine(b64, 7, 'fcgi')]), [['7-1', redacted(NGINX)], ['7-2', redacted(changed)]]);
  });

  it('carries a changed secret when secrets are shown', () => {
    traceOptions.showSecrets = true;
    const m = new WireMirror();
    const changed = withValue(NGINX, 'HTTP_COOKIE', 'session=s3cret-two');
    exchange(m, 1, 1, NGINX);
    exchange(m, 1, 2, changed);
    const b64 = m.take();
    assert.deepEqual(paramsKinds(b64), [FrameKind.params, FrameKind.paramsDelta]);
    const shown = starts([wireLine(b64, 7, 'fcgi')]);
    assert.deepEqual(shown.map(([, p]) => (p as Pairs).find(([n]) => n === 'HTTP_COOKIE')),
      [['HTTP_COOKIE', 'session=s3cret-one'], ['HTTP_COOKIE', 'session=s3cret-two']]);
  });

  it('rebuilds streams with a name twice (nginx: SCRIPT_NAME from fastcgi_params, then the site\'s), whichever of the two changes', () => {
    const m = new WireMirror();
    const dup: Pairs = [['SCRIPT_NAME', '/index'], ...NGINX.filter(([n]) => n !== 'SCRIPT_NAME'), ['SCRIPT_NAME', '']];
    const firstChanged = dup.map(([n, v], i): [string, string] => [n, i === 0 ? '/other' : v]);
    const lastChanged = dup.map(([n, v], i): [string, string] => [n, i === dup.length - 1 ? '/x' : v]);
    [dup, firstChanged, lastChanged, dup].forEach((pairs, i) => exchange(m, 1, i + 1, pairs));
    const b64 = m.take();
    assert.deepEqual(paramsKinds(b64), [FrameKind.params, FrameKind.paramsDelta, FrameKind.paramsDelta, FrameKind.paramsDelta]);
    // The streams, byte for byte (secrets shown: none masked), then as readers decode them (the last value of a name wins).
    traceOptions.showSecrets = true;
    const m2 = new WireMirror();
    [dup, firstChanged, lastChanged, dup].forEach((pairs, i) => exchange(m2, 1, i + 1, pairs));
    assert.deepEqual(streamsOf(m2.take()), [dup, firstChanged, lastChanged, dup].map((pairs) => encodePairs(pairs)));
    traceOptions.showSecrets = false;
    const rebuilt = events(read([wireLine(b64, 7, 'fcgi')], false)).filter((e) => e['ev'] === 'request.start').map((e) => e['params']);
    assert.deepEqual(rebuilt, [dup, firstChanged, lastChanged, dup].map((pairs) => {
      const seen = new Map<string, string>();
      for (const [n, v] of pairs) seen.set(n, v);
      return redacted([...seen]);
    }));
  });

  it('rebuilds the exact bytes of each stream (the gathered requests\' frames, decoded on their own)', () => {
    const m = new WireMirror();
    const streams: Pairs[] = [NGINX, withValue(NGINX, 'REMOTE_PORT', '1'), withValue(NGINX, 'REQUEST_URI', '/a/b'), withValue(NGINX, 'HTTP_HOST', 'h')];
    streams.forEach((pairs, i) => exchange(m, 1, i + 1, pairs));
    const b64 = m.take();
    traceOptions.showSecrets = true;
    const m2 = new WireMirror();
    streams.forEach((pairs, i) => exchange(m2, 1, i + 1, pairs));
    const b64shown = m2.take();
    assert.deepEqual(streamsOf(b64shown), streams.map((pairs) => encodePairs(pairs)));
    const shown = starts([wireLine(b64shown, 7, 'fcgi')]).map(([, p]) => p);
    assert.deepEqual(shown, streams);
    assert.ok(paramsKinds(b64).includes(FrameKind.paramsDelta));
  });

  it('never throws on a DELTA that does not fit its base', () => {
    const m = new WireMirror();
    exchange(m, 1, 1, NGINX);
    exchange(m, 1, 2, withValue(NGINX, 'REMOTE_PORT', '1'));
    const b = Buffer.from(m.take(), 'base64');
    // Corrupt the DELTA's prefix length past its base.
    let at = 0;
    while (b[at] !== FrameKind.paramsDelta) {
      const kind = b[at]!;
      at += kind === FrameKind.time ? 9 : kind === FrameKind.params ? PARAMS_FRAME_BYTES + b.readUInt32LE(at + 12) : 22 + b.readUInt32LE(at + 18);
    }
    b.writeUInt32LE(100000, at + 12);
    for (const summaries of [false, true]) {
      const evs = events(read([wireLine(b.toString('base64'), 7, 'fcgi')], summaries));
      assert.deepEqual(evs.filter((e) => e['ev'] === 'request.start').map((e) => e['rid']), ['7-1']);
    }
  });
});
