// memory suite: RSS of the dualcgi serving process (hello app, tracing off, behind nginx) idle,
// after each quarter of N hello requests, and during an upload and a download of `streamBytes`
// streamed through nginx without buffering (fastcgi_request_buffering off, no temp files). The same
// streams then go to node:http serving the same app through nginx proxy_pass, unbuffered too: the
// peer's growth shows what Node itself keeps during a stream (dead read buffers wait for a GC).
import * as http from 'node:http';
import { benchApp, startDualcgi, startNodeHttp, type Backend } from '../lib/backends';
import { emptyResult, type Suite, type SuiteContext } from '../lib/context';
import { startFront, type Front } from '../lib/front';
import { createGroup, seriesOf, valueTarget } from '../lib/results';
import { rssMiB, sampleRss } from '../lib/rss';
import { runWrk } from '../lib/wrk';

const NAME = 'dualcgi-memory';
const PEER = 'node-http-memory';
const CHUNK = Buffer.alloc(65536, 'u');
/** Growth the suite still calls flat: above allocator and GC noise, far below a leak of 100k requests. */
const FLAT_REQUESTS_MIB = 10;
/**
 * Growth during a stream the suite still calls flat: a few socket and stream buffers, plus the read
 * chunks that wait for V8's next scavenge (it starts one after about 32 MiB of them).
 */
const FLAT_STREAM_MIB = 32;

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** upload: POST `bytes` to /upload in 64 KiB writes, honouring backpressure; resolves with the reply. */
function upload(port: number, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false,
      headers: { 'Content-Length': String(bytes), 'Content-Type': 'application/octet-stream' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
      res.on('error', reject);
    });
    req.on('error', reject);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** download: GET /download?bytes=N; resolves with the bytes received. */
function download(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/download?bytes=${bytes}`, agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(res.statusCode === 200 ? n : -1));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * requests: N hello requests in four quarters, RSS after each. wrk has no request count (its main
 * thread sleeps for the duration), so each quarter is 1-second runs until the count is reached.
 */
async function requests(ctx: SuiteContext, front: Front, pid: number, rss: (label: string, v: number) => void): Promise<number> {
  const quarter = Math.ceil(ctx.options.memoryRequests / 4);
  let total = 0;
  for (let q = 1; q <= 4; q++) {
    for (let done = 0; done < quarter;) {
      const r = await runWrk({ url: front.url(NAME, '/'), connections: 32, seconds: 1, dir: ctx.world });
      if (r.errors > 0) throw new Error(`memory: ${r.errors} failed requests`);
      done += r.requests;
      total += r.requests;
    }
    await settle(300);
    rss(`after ${q}/4 of the requests (${total.toLocaleString('en-US')})`, rssMiB(pid));
  }
  return total;
}

/** Record: one RSS sample under a label. */
type Record = (label: string, v: number) => void;

/**
 * streams: an upload and a download of `bytes` through `port`, each checked for its byte count,
 * with the backend's peak RSS sampled every 50 ms; returns the growth of each over its start.
 */
async function streams(pid: number, port: number, bytes: number, label: (what: string) => string, record: Record,
  speed: (label: string, mibPerS: number) => void): Promise<Map<'upload' | 'download', number>> {
  const growth = new Map<'upload' | 'download', number>();
  for (const [what, go] of [
    ['upload', async () => upload(port, bytes)],
    ['download', async () => String(await download(port, bytes))],
  ] as const) {
    const base = rssMiB(pid);
    const sampler = sampleRss(pid);
    const t0 = process.hrtime.bigint();
    const reply = await go();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const { peak } = sampler.stop();
    const ok = what === 'upload' ? reply === `200 received ${bytes}` : reply === String(bytes);
    if (!ok) throw new Error(`memory: ${label(what)} of ${bytes} bytes went wrong: ${reply}`);
    record(`${label(what)}: peak`, peak);
    speed(label(what), bytes / 1048576 / seconds);
    growth.set(what, peak - base);
  }
  return growth;
}

async function run(ctx: SuiteContext) {
  const result = emptyResult('memory');
  const group = createGroup('memory', 'rss', 'RSS of the serving process', 'MiB', false, []);
  const speed = createGroup('memory', 'streams', 'stream throughput through nginx', 'MiB/s', true, []);
  result.groups.push(group, speed);
  const record = (label: string, v: number): void => {
    seriesOf(group, label).samples.push(v);
    ctx.log(`memory ${label}: ${v.toFixed(1)} MiB`);
  };
  const backend = await startDualcgi(ctx.world, NAME, { app: benchApp('hello'), trace: 'off' });
  const bytes = ctx.options.streamBytes;
  const mib = bytes / 1048576;
  const toSpeed = (label: string, v: number): void => void seriesOf(speed, label).samples.push(v);
  let peer: Backend | undefined;
  try {
    peer = await startNodeHttp(ctx.world, PEER, benchApp('hello'));
    const front = await startFront(ctx.world, [{ ...backend.upstream, stream: true }, { ...peer.upstream, stream: true }]);
    const port = front.ports.get(NAME)!;
    try {
      await download(port, 1);
      await settle(500);
      record('idle (after one request)', rssMiB(backend.pid));
      const total = await requests(ctx, front, backend.pid, record);
      const before = rssMiB(backend.pid);
      const ours = await streams(backend.pid, port, bytes, (what) => `${what} ${mib} MiB`, record, toSpeed);
      await settle(300);
      record('after the streams', rssMiB(backend.pid));
      const peerPort = front.ports.get(PEER)!;
      await download(peerPort, 1);
      const theirs = await streams(peer.pid, peerPort, bytes, (what) => `node:http (proxy_pass): ${what} ${mib} MiB`,
        record, toSpeed);
      const quarters = group.series.filter((s) => /^after \d\/4 /.test(s.variant));
      const growth = quarters.length === 4 ? quarters[3]!.samples[0]! - quarters[0]!.samples[0]! : NaN;
      result.targets.push(valueTarget('memory',
        `RSS growth from the first to the last quarter of ${total.toLocaleString('en-US')} requests`,
        growth, FLAT_REQUESTS_MIB, 'MiB'));
      for (const what of ['upload', 'download'] as const) {
        // The limit is 32 MiB, or the peer's growth when Node itself keeps more: chunks read from a
        // socket are freed only by a scavenge, which V8 starts after about 32 MiB of them (see README).
        const limit = Math.max(FLAT_STREAM_MIB, Math.round(theirs.get(what)! * 10) / 10);
        result.targets.push(valueTarget('memory', `RSS growth during a ${mib} MiB ${what} (32 MiB or node:http's, the larger)`,
          ours.get(what)!, limit, 'MiB'));
      }
      result.notes.push(`RSS before the streams ${before.toFixed(1)} MiB; one sample per phase (memory is measured once, ` +
        'not in rounds); stream peaks sampled every 50 ms from /proc/PID/status');
      result.notes.push(`the peer, node:http behind proxy_pass (unbuffered) with the same app, grew ` +
        `${theirs.get('upload')!.toFixed(1)} MiB during the upload and ${theirs.get('download')!.toFixed(1)} MiB during the download`);
    } finally {
      await front.server.stop();
    }
  } finally {
    await peer?.stop();
    await backend.stop();
  }
  return result;
}

/** memorySuite: see the file comment. */
export const memorySuite: Suite = { name: 'memory', run };
