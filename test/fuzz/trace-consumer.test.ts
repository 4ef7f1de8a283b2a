// The consumers' side of tracing under hostile input: a real trace stream (a FastCGI worker's wire
// lines and event lines, a CGI hit's grouped lines), mutated, fed in random chunks to what the
// dashboard and tail run: the reader (with and without summaries), the dashboard's store, every
// view of every kept request, and the tail formatter. Any local process that can open the trace
// socket can send these bytes, and a dashboard that throws loses the whole session's view.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromTracedRequest, toCurl, toEnvFile, toReplayFile } from '../../src/capture/export';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { launchFastCGIScript, runCgiScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
import { createPretty } from '../../src/dashboard/format/pretty';
import { DashboardStore } from '../../src/dashboard/store/dashboard-store';
import { ListModel } from '../../src/dashboard/store/list';
import type { RequestEntry } from '../../src/dashboard/store/requests';
import { createTailFormatter } from '../../src/dashboard/tail';
import { buildDetail, renderDetail } from '../../src/dashboard/views/detail';
import { renderHeader } from '../../src/dashboard/views/header';
import { LogFormatter, renderLog } from '../../src/dashboard/views/log-pane';
import { recordPopupLines } from '../../src/dashboard/views/popup';
import { renderList, renderRow } from '../../src/dashboard/views/request-list';
import type { GroupItem } from '../../src/trace/group-scan';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';
import { Rng, splitRandomly } from './mutate';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? '2');
const dist = resolve(__dirname, '../../src');

/** streams: the raw bytes of each producer connection to the trace socket (one reader each, as a listener has). */
const streams: Buffer[] = [];

/** captureStreams: a real worker and a real CGI hit tracing to a socket that keeps their bytes. */
async function captureStreams(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-fuzz-trace-'));
  writeFileSync(join(dir, 'app.js'), `
module.exports = (req, res) => {
  if (req.url.startsWith('/crash')) throw new Error('crash for the fuzz');
  console.log('console line from', req.url);
  req.log.info({ answer: 42, nested: { a: [1, 'two'] } }, 'req.log line');
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => {
    res.statusCode = req.url.startsWith('/missing') ? 404 : 200;
    res.setHeader('Set-Cookie', ['sid=secret', 'b=2']);
    res.setHeader('X-Long', 'v'.repeat(300));
    res.end('body ' + n);
  });
};
`);
  for (const name of ['dispatch.fcgi', 'dispatch.cgi']) {
    writeFileSync(join(dir, name), `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './app.js' });\n`);
    chmodSync(join(dir, name), 0o755);
  }
  const sock = join(dir, 't.sock');
  const connections: Buffer[][] = [];
  const closed: Array<Promise<void>> = [];
  const server: Server = createServer((s) => {
    const chunks: Buffer[] = [];
    connections.push(chunks);
    s.on('data', (c: Buffer) => chunks.push(c));
    closed.push(new Promise((ok) => s.on('close', () => ok())));
  });
  const connected = async (n: number): Promise<void> => {
    for (let i = 0; i < 500 && connections.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await new Promise<void>((ok) => server.listen(sock, ok));
  try {
    const body = Buffer.from('x'.repeat(5000));
    const cgiParams = buildCgiParams({ target: '/hello?x=1', mode: 'cgi', method: 'POST', bodyLength: body.length });
    await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...cgiParams, ['DUALCGI_TRACE', `unix:${sock}`]], stdin: body });
    writeFileSync(join(dir, '.dualcgi-trace'), `unix:${sock}\n`);
    const launched = await launchFastCGIScript(join(dir, 'dispatch.fcgi'));
    try {
      const conn = await FastCGIClientConnection.connect(launched.address);
      // The worker connects to the trace socket as it starts: its requests are traced once it has.
      await connected(2);
      for (const target of ['/ok?a=1', '/missing', '/crash', '/ok/again']) {
        await conn.request({ params: buildCgiParams({ target, method: 'POST', bodyLength: body.length, headers: [['Cookie', 'c=secret']] }), body, keepConn: true });
      }
      conn.close();
    } finally {
      await launched.stop();
    }
    // Both producers have exited: their connections close once all they sent has arrived.
    await Promise.all(closed);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const chunks of connections) if (chunks.length > 0) streams.push(Buffer.concat(chunks));
}

/** mutateBytes: one change to a byte string: a flipped bit, a lying length, a cut, a copy, garbage. */
function mutateBytes(rng: Rng, b: Buffer): Buffer {
  if (b.length === 0) return rng.bytes(rng.int(16));
  const out = Buffer.from(b);
  switch (rng.int(6)) {
    case 0: out[rng.int(out.length)]! ^= 1 << rng.int(8); return out;
    case 1: {
      // A frame's u32/u16 length or id made to lie.
      if (out.length < 4) return Buffer.concat([out, rng.bytes(4)]);
      const values = [0, 1, 0xffff, 0xffffffff, rng.int(2 ** 32), out.length, out.length + 1];
      out.writeUInt32LE(values[rng.int(values.length)]!, rng.int(out.length - 3));
      return out;
    }
    case 2: return out.subarray(0, rng.int(out.length));
    case 3: { const at = rng.int(out.length); return Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(32)), out.subarray(at)]); }
    case 4: { const at = rng.int(out.length); const n = rng.int(out.length - at); return Buffer.concat([out.subarray(0, at + n), out.subarray(at)]); }
    default: out[rng.int(out.length)] = [0, 1, 2, 3, 4, 5, 6, 7, 0xff][rng.int(9)]!; return out;
  }
}

/** oddValue: a JSON value of an unexpected type or size. */
function oddValue(rng: Rng): unknown {
  const values: unknown[] = [null, -1, 0, 1e300, -0.5, 2 ** 53 + 7, '', 'x'.repeat(5000), '\u001b[31m{red}\u0000', [], [[1, 2]], [['a']], {}, { a: { b: [] } }, true, 'NaN'];
  return values[rng.int(values.length)];
}

/** mutateLine: one change to one line: its wire payload, its JSON text or one of its fields. */
function mutateLine(rng: Rng, line: string): string {
  let ev: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) ev = parsed as Record<string, unknown>;
  } catch {
    ev = undefined;
  }
  const kind = rng.int(4);
  if (ev !== undefined && typeof ev['b64'] === 'string' && kind < 2) {
    // The wire payload: the frames decoded, changed, encoded again (the line stays valid JSON).
    ev['b64'] = mutateBytes(rng, Buffer.from(ev['b64'], 'base64')).toString('base64');
    return JSON.stringify(ev);
  }
  if (ev !== undefined && kind === 2) {
    const keys = Object.keys(ev);
    const key = keys[rng.int(keys.length)]!;
    const inner = ev[key];
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner) && rng.int(2) === 0) {
      const innerKeys = Object.keys(inner);
      if (innerKeys.length > 0) (inner as Record<string, unknown>)[innerKeys[rng.int(innerKeys.length)]!] = oddValue(rng);
    } else if (Array.isArray(inner) && inner.length > 0 && rng.int(2) === 0) {
      inner[rng.int(inner.length)] = oddValue(rng);
    } else {
      ev[key] = oddValue(rng);
    }
    return JSON.stringify(ev);
  }
  return mutateBytes(rng, Buffer.from(line, 'utf8')).toString('utf8').replace(/\n/g, ' ');
}

/** mutateStream: one to three changes to a stream's lines: a line changed, dropped, repeated, moved, or garbage. */
function mutateStream(rng: Rng, stream: Buffer): Buffer {
  const lines = stream.toString('utf8').split('\n');
  const last = lines.pop(); // '' after the final newline
  for (let n = 1 + rng.int(3); n > 0 && lines.length > 0; n--) {
    const i = rng.int(lines.length);
    switch (rng.int(8)) {
      case 0: lines.splice(i, 1); break;
      case 1: lines.splice(rng.int(lines.length), 0, lines[i]!); break;
      case 2: { const j = rng.int(lines.length); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; break; }
      case 3: lines.splice(i, 0, rng.bytes(rng.int(200)).toString('latin1').replace(/\n/g, '')); break;
      default: lines[i] = mutateLine(rng, lines[i]!);
    }
  }
  return Buffer.from(`${lines.join('\n')}\n${last ?? ''}`, 'utf8');
}

const pretty = createPretty({ colorize: false, ignore: ['pid', 'rid'] });

/** showAll: what the dashboard can be asked to show of a store: every pane, every request, every record, an export. */
function showAll(store: DashboardStore, now: number): void {
  renderHeader(store, { listen: '/tmp/x.sock', width: 120, now });
  const model = new ListModel(store);
  renderList(model, 120, 20, true);
  renderLog(store.logs, new LogFormatter(pretty), { width: 120, height: 10, offset: 0, focused: false });
  for (const entry of store.requests.all()) showEntry(entry);
}

function showEntry(entry: RequestEntry): void {
  renderRow(entry, 120, 'focused');
  const lines = buildDetail(entry, { showSecrets: false, pretty });
  renderDetail(entry, lines, { width: 120, height: 30, cursor: lines.length - 1, focused: true });
  for (const record of entry.records) recordPopupLines(record, 80);
  const req = fromTracedRequest(entry);
  toCurl(req);
  toEnvFile(req);
  toReplayFile(req, { mode: 'fcgi' });
}

/** consume: the bytes through the dashboard's path (summaries, store, views) and tail's (events, formatter). */
function consume(rng: Rng, bytes: Buffer, maxRequests = 1 + rng.int(8)): DashboardStore {
  const now = 1_800_000_000_000;
  const store = new DashboardStore({ maxRequests });
  const dash = new NdjsonReader<ReadItem | GroupItem>((item) => store.ingest(item, now), { summaries: true });
  const tail = createTailFormatter({ verbose: true, colorize: false });
  const plain = new NdjsonReader<ReadItem>((item) => {
    tail(item);
  });
  for (const chunk of splitRandomly(rng, bytes)) {
    dash.push(chunk);
    plain.push(chunk);
  }
  dash.end();
  plain.end();
  showAll(store, now);
  return store;
}

describe('trace consumers under hostile input (seeded, time-bounded; FUZZ_SECONDS for longer runs)', () => {
  before(captureStreams);
  after(() => streams.splice(0));

  it('capture a real worker\'s and a real CGI hit\'s streams, with wire and grouped lines', () => {
    assert.ok(streams.length >= 2, `${streams.length} producer connections`);
    const text = streams.map((s) => s.toString('utf8')).join('');
    assert.match(text, /"ev":"wire"/);
    assert.match(text, /"ev":"app.log"/);
    // Unchanged, every request reaches the store whole: what the mutations start from.
    const seen = streams.flatMap((s) => consume(new Rng(1), s, 100).requests.all())
      .map((e) => `${e.mode} ${e.method} ${e.uri} ${e.status} ${e.records.length > 0 ? 'records' : 'no records'}`).sort();
    assert.deepEqual(seen, [
      'cgi POST /hello?x=1 200 no records',
      'fcgi POST /crash 500 records', 'fcgi POST /missing 404 records', 'fcgi POST /ok/again 200 records', 'fcgi POST /ok?a=1 200 records',
    ]);
  });

  it('never throw, in the reader, the store, any view, an export or tail, whatever the lines say', (t) => {
    const deadline = Date.now() + SECONDS * 1000;
    let runs = 0;
    for (let seed = 1; Date.now() < deadline; seed++, runs++) {
      const rng = new Rng(seed);
      const source = streams[rng.int(streams.length)]!;
      try {
        consume(rng, rng.int(20) === 0 ? rng.bytes(rng.int(2000)) : mutateStream(rng, source));
      } catch (err) {
        assert.fail(`seed ${seed}: ${(err as Error).stack ?? String(err)}`);
      }
    }
    t.diagnostic(`${runs} mutated streams`);
    assert.ok(runs > 50, `only ${runs} runs in ${SECONDS}s`);
  });
});
