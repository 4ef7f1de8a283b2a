// trace-probe: what tracing costs the serving process, without nginx and wrk: `dualcgi serve`
// with the hello app on a Unix socket, driven by C kept-alive FastCGI connections that send the
// bytes nginx sends for `GET /` (BEGIN_REQUEST, its 21 params, the empty PARAMS and STDIN), the
// next request as soon as END_REQUEST arrives. Prints the serving process's CPU per request
// (utime+stime from /proc) and, for `tail`, tail's. Quicker and steadier than the trace suite on a
// shared machine, and what the profiles in bench/README.md ("trace") were taken under.
//
//   node dist/bench/trace-probe.js VARIANT [SECONDS] [CONNECTIONS]
//   VARIANT: off | none (nobody listening) | drain (a listener that discards, in this process) | tail (tail --json > /dev/null)
//            | node-http (the peer: apps/http-server.js with the hello app, sent what nginx's proxy_pass sends)
//            | dashboard (`dualcgi dashboard` in a detached 160x48 tmux session on a tmux server of its own)
//            | drain-process (a node process that only reads and discards, in a tmux session like the
//              dashboard's: a reader in a process of its own with no draws and no GC to stall it)
// Extra node flags for the server (--cpu-prof ...) go in TRACE_PROBE_NODE_FLAGS, for the dashboard
// in TRACE_PROBE_CONSUMER_FLAGS. TRACE_PROBE_COOKIE=1 adds a Cookie and an Authorization header.
// TRACE_PROBE_MIX=1 first sends what the nginx suite's warm-ups send
// before hello is measured (64 KiB responses, then 1 MiB POSTs, each for a few seconds), so hello
// is measured in a process that served mixed traffic (bench/README.md, nginx, "sixth session");
// TRACE_PROBE_MIX=hello spends the same time on hello only (the control). TRACE_PROBE_SERVER_LOG:
// a file for the server's output (--trace-deopt in TRACE_PROBE_NODE_FLAGS). TRACE_PROBE_CAPTURE: a
// file the drain variant appends the trace stream to.
// TRACE_PROBE_SERVER_ROOT: a checkout whose build (bin/, dist/) serves instead of this one, to
// compare two builds under the same probe. TRACE_PROBE_CALLGRIND=N: the server runs under
// valgrind's callgrind, is sent N requests and stopped; the probe prints the instructions its whole
// process ran (all threads). Two runs with different N give instructions per request, which the
// machine's load does not move as it moves CPU time (bench/README.md, trace, "seventh session").
// TRACE_PROBE_SOCKET_STATS=1: how often the trace socket was full while measured: the unread bytes
// of the listener's end sampled with `ss -xn` (~every 15 ms), and the serving process's epoll_ctl
// and writev calls per 1,000 requests counted with `perf stat` on their tracepoints (root; a
// write the socket could not take whole makes libuv poll for POLLOUT: two epoll_ctl, and the
// batches queued meanwhile leave in a writev) (bench/README.md, trace, "eighth session").
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NGINX_GET_PARAMS } from './lib/nginx-params';
import { encodeBeginRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, RecordType, Role } from '../src/protocol';

const ROOT = resolve(__dirname, '..', '..');
const SERVER_ROOT = resolve(process.env['TRACE_PROBE_SERVER_ROOT'] ?? ROOT);
const NGINX_PARAMS: Array<[string, string]> = NGINX_GET_PARAMS.map(([n, v]): [string, string] => [n, v]);
// TRACE_PROBE_COOKIE=1: the request also carries a browser's Cookie and Authorization (the wire
// mirror's masking path: wire-mirror.ts).
if (process.env['TRACE_PROBE_COOKIE'] === '1') {
  NGINX_PARAMS.push(['HTTP_COOKIE', '_ga=GA1.1.1234567890.1700000000; session=0123456789abcdef0123456789abcdef; theme=dark'],
    ['HTTP_AUTHORIZATION', 'Bearer abcdefghijklmnopqrstuvwxyz0123456789']);
}
const REQUEST = Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, NGINX_PARAMS), encodeRecord(RecordType.Stdin, 1)]);

// What nginx's proxy_pass sends node:http (proxy_http_version 1.1, Connection ""): the peer of REQUEST.
const HTTP_HELLO = Buffer.from('GET / HTTP/1.1\r\nHost: node-http\r\n\r\n');
const HTTP_64K = Buffer.from('GET /64k HTTP/1.1\r\nHost: node-http\r\n\r\n');

/** withUri: NGINX_PARAMS for another URI (and method, body headers as nginx adds them). */
function withUri(uri: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  const over = new Map<string, string>([['REQUEST_URI', uri], ['DOCUMENT_URI', uri], ['PATH_INFO', uri], ...extra]);
  return [...NGINX_PARAMS.map(([n, v]): [string, string] => [n, over.get(n) ?? v]),
    ...extra.filter(([n]) => !NGINX_PARAMS.some(([m]) => m === n))];
}
const GET_64K = Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, withUri('/64k')), encodeRecord(RecordType.Stdin, 1)]);
const POST_BODY = Buffer.alloc(1 << 20, 'p');
const POST_1M = Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN),
  ...encodeParams(1, withUri('/post', [['REQUEST_METHOD', 'POST'], ['CONTENT_TYPE', 'application/octet-stream'],
    ['CONTENT_LENGTH', String(POST_BODY.length)], ['HTTP_CONTENT_TYPE', 'application/octet-stream'],
    ['HTTP_CONTENT_LENGTH', String(POST_BODY.length)]])),
  // nginx sends the body in records of up to 32 KiB.
  ...Array.from({ length: POST_BODY.length / 32768 }, (_, i) => encodeRecord(RecordType.Stdin, 1, POST_BODY.subarray(i * 32768, (i + 1) * 32768))),
  encodeRecord(RecordType.Stdin, 1)]);
const HTTP_POST_1M = Buffer.concat([Buffer.from(`POST /post HTTP/1.1\r\nHost: node-http\r\nContent-Length: ${POST_BODY.length}\r\n`
  + 'Content-Type: application/octet-stream\r\n\r\n'), POST_BODY]);

/** httpResponses: complete HTTP/1.1 responses (each with Content-Length) at the start of buf, and the bytes they take. */
function httpResponses(buf: Buffer): { count: number; used: number } {
  let at = 0;
  let count = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const head = buf.toString('latin1', at, end);
    const m = /content-length: *(\d+)/i.exec(head);
    const size = end + 4 - at + (m ? Number(m[1]) : 0);
    if (at + size > buf.length) break;
    at += size;
    count++;
  }
  return { count, used: at };
}

function cpuSeconds(pid: number, which: 'all' | 'sys' = 'all'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // USER_HZ is 100 on Linux; field 14 is user time, 15 system time.
  return (which === 'sys' ? Number(f[12]) : Number(f[11]) + Number(f[12])) / 100;
}

/** switches: the process's voluntary and involuntary (preempted) context switches so far, from /proc/PID/status. */
function switches(pid: number): { voluntary: number; involuntary: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const read = (name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { voluntary: read('voluntary_ctxt_switches'), involuntary: read('nonvoluntary_ctxt_switches') };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await sleep(50);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** drive: C connections sending the request again on each END_REQUEST; `counting` counts answers. */
function drive(sock: string, connections: number, http: boolean): { done: () => number; count: (on: boolean) => void; stop: () => void;
  send: (bytes: Buffer) => void } {
  let done = 0;
  let request: Buffer = http ? HTTP_HELLO : REQUEST;
  let counting = false;
  let stopped = false;
  for (let c = 0; c < connections; c++) {
    const s = connect(sock, () => s.write(request));
    let rest: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let at = 0;
      if (http) {
        const { count, used } = httpResponses(buf);
        for (let i = 0; i < count; i++) {
          if (counting) done++;
          if (!stopped) s.write(request);
        }
        at = used;
      }
      while (!http && at + 8 <= buf.length) {
        const size = 8 + buf.readUInt16BE(at + 4) + buf[at + 6]!;
        if (at + size > buf.length) break;
        if (buf[at + 1] === RecordType.EndRequest) {
          if (counting) done++;
          if (!stopped) s.write(request);
        }
        at += size;
      }
      rest = buf.subarray(at);
    });
    s.on('error', () => {});
  }
  return { done: () => done, count: (on) => { counting = on; }, stop: () => { stopped = true; }, send: (bytes) => { request = bytes; } };
}

/**
 * socketStats: TRACE_PROBE_SOCKET_STATS: `ss` samples of the trace socket's unread bytes (the
 * listener's end; 212,992 bytes of send buffer read as ~219-245 KB when full) and `perf stat`
 * counts of the server's epoll_ctl and writev over the measured seconds, both run asynchronously
 * (the probe's event loop drives the load).
 */
function socketStats(serverPid: number, traceSock: string, seconds: number): { result(requests: number): Promise<Record<string, unknown>> } {
  const perfOut = join(tmpdir(), `trace-probe-perf-${process.pid}.csv`);
  const perf = spawn('perf', ['stat', '-x,', '-o', perfOut, '-e', 'syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_writev', '-p', String(serverPid),
    '--', 'sleep', String(seconds)], { stdio: 'ignore' });
  const perfDone = new Promise<boolean>((resolve) => {
    perf.on('error', () => resolve(false));
    perf.on('exit', (code) => resolve(code === 0));
  });
  const samples: number[] = [];
  const stopAt = Date.now() + (seconds - 0.5) * 1000;
  const ssDone = (async () => {
    while (Date.now() < stopAt) {
      const out = await new Promise<string>((resolve) => {
        const ss = spawn('ss', ['-xn'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let text = '';
        ss.stdout.on('data', (c: Buffer) => (text += c.toString()));
        ss.on('close', () => resolve(text));
        ss.on('error', () => resolve(''));
      });
      for (const line of out.split('\n')) if (line.includes(` ${traceSock} `)) samples.push(Number(line.trim().split(/\s+/)[2]));
    }
  })();
  return {
    async result(requests) {
      const [perfOk] = await Promise.all([perfDone, ssDone]);
      const counts: Record<string, number> = {};
      if (perfOk) {
        for (const line of readFileSync(perfOut, 'utf8').split('\n')) {
          const f = line.split(',');
          const name = /sys_enter_(\w+)/.exec(f[2] ?? '')?.[1];
          if (name !== undefined) counts[`${name}PerK`] = +((Number(f[0]) * 1000) / requests).toFixed(3);
        }
        rmSync(perfOut, { force: true });
      }
      const sorted = [...samples].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return {
        ...(perfOk ? counts : { perf: 'perf stat failed (not root, or no tracepoints)' }),
        socketSamples: samples.length, socketEmpty: samples.filter((v) => v === 0).length,
        socketOver150k: samples.filter((v) => v > 150_000).length, socketP90: at(0.9), socketMax: sorted[sorted.length - 1] ?? 0,
      };
    },
  };
}

async function main(): Promise<void> {
  const [variant = 'drain', secondsArg = '5', connectionsArg = '32'] = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-trace-probe-'));
  const appSock = join(dir, 'app.sock');
  const traceSock = join(dir, 'trace.sock');
  const children: ChildProcess[] = [];
  let drain: Server | undefined;
  const tmuxServer = `dualcgi-probe-${process.pid}`;
  try {
    const http = variant === 'node-http';
    const trace = { off: 'off', 'node-http': 'off', none: 'unix:/nonexistent.sock', drain: `unix:${traceSock}`, tail: `unix:${traceSock}`,
      dashboard: `unix:${traceSock}`, 'drain-process': `unix:${traceSock}` }[variant];
    if (trace === undefined) throw new Error(`unknown variant ${variant}`);
    // TRACE_PROBE_CAPTURE=FILE: the drain listener keeps what it reads (bench/dashboard-replay.ts feeds it to the dashboard's store).
    const capture = process.env['TRACE_PROBE_CAPTURE'];
    if (variant === 'drain') {
      drain = createServer((s) => {
        if (capture === undefined) s.resume();
        else s.pipe(createWriteStream(capture, { flags: 'a' }));
      }).listen(traceSock);
    }
    if (variant === 'tail') {
      children.push(spawn('/bin/sh', ['-c', `exec '${process.execPath}' '${join(ROOT, 'bin', 'dualcgi')}' tail --json --listen 'unix:${traceSock}' >/dev/null 2>&1`]));
    }
    let consumerPid: number | undefined = variant === 'tail' ? children[0]!.pid! : undefined;
    if (variant === 'dashboard' || variant === 'drain-process') {
      const consumerFlags = process.env['TRACE_PROBE_CONSUMER_FLAGS'] ?? '';
      const consumer = variant === 'dashboard' ? `'${join(ROOT, 'bin', 'dualcgi')}' dashboard --listen 'unix:${traceSock}'`
        : `-e 'require("node:net").createServer((s) => s.resume()).listen(process.argv[1])' '${traceSock}'`;
      const cmd = `exec '${process.execPath}' ${consumerFlags} ${consumer} 2>>${process.env['TRACE_PROBE_CONSUMER_LOG'] ?? '/dev/null'}`;
      execFileSync('tmux', ['-L', tmuxServer, '-f', '/dev/null', 'new-session', '-d', '-s', 'probe', '-x', '160', '-y', '48', '-e', 'LANG=C.UTF-8', cmd]);
      await until(() => existsSync(traceSock), 'the dashboard', 400);
      consumerPid = Number(execFileSync('tmux', ['-L', tmuxServer, 'list-panes', '-t', 'probe', '-F', '#{pane_pid}'], { encoding: 'utf8' }).trim());
    }
    if (variant === 'drain' || variant === 'tail') await until(() => existsSync(traceSock), 'the listener');
    const flags = (process.env['TRACE_PROBE_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
    const serverLog = process.env['TRACE_PROBE_SERVER_LOG'] === undefined ? undefined : openSync(process.env['TRACE_PROBE_SERVER_LOG'], 'w');
    const helloApp = join(SERVER_ROOT, 'dist', 'bench', 'apps', 'hello.js');
    const serverArgs = http ? [join(SERVER_ROOT, 'dist', 'bench', 'apps', 'http-server.js'), helloApp, appSock]
      : [join(SERVER_ROOT, 'bin', 'dualcgi'), 'serve', '--bind', `unix:${appSock}`, '--no-register', helloApp];
    const callgrind = Number(process.env['TRACE_PROBE_CALLGRIND'] ?? 0);
    // TRACE_PROBE_CALLGRIND_OUT: where callgrind's profile goes (callgrind_annotate reads it), else the temp folder.
    const callgrindOut = process.env['TRACE_PROBE_CALLGRIND_OUT'] ?? join(dir, 'callgrind.out');
    const command = callgrind > 0
      ? ['valgrind', '--tool=callgrind', '--cache-sim=no', '--dump-instr=no', `--callgrind-out-file=${callgrindOut}`, process.execPath]
      : [process.execPath];
    const server = spawn(command[0]!, [...command.slice(1), ...flags, ...serverArgs], { env: { ...process.env, NODE_ENV: 'production', DUALCGI_TRACE: trace },
      stdio: serverLog === undefined ? 'ignore' : ['ignore', serverLog, serverLog] });
    children.push(server);
    await until(() => existsSync(appSock), 'the server', callgrind > 0 ? 1200 : 100);
    const load = drive(appSock, Number(connectionsArg), http);
    if (callgrind > 0) {
      load.count(true);
      while (load.done() < callgrind) await sleep(20);
      load.stop();
      const n = load.done(); // the requests in flight when it stopped are answered too
      await sleep(1000);
      server.kill('SIGINT');
      await new Promise((r) => server.once('exit', r));
      const summary = /^summary: (\d+)/m.exec(readFileSync(callgrindOut, 'utf8'));
      if (summary === null) throw new Error('callgrind wrote no summary');
      process.stdout.write(`${JSON.stringify({ variant, requests: load.done(), stoppedAt: n, instructions: Number(summary[1]) })}\n`);
      return;
    }
    await sleep(1500); // warm up
    const mixed = process.env['TRACE_PROBE_MIX'] ?? '';
    if (mixed !== '' && mixed !== '1' && mixed !== 'hello') throw new Error(`TRACE_PROBE_MIX: 1 or hello, not ${mixed}`);
    /** phases: requests answered in each mixed phase (a phase that answered none was not measured). */
    const phases: number[] = [];
    if (mixed === '1' || mixed === 'hello') {
      const hello = http ? HTTP_HELLO : REQUEST;
      load.count(true);
      for (const bytes of mixed === '1' ? (http ? [HTTP_64K, HTTP_POST_1M] : [GET_64K, POST_1M]) : [hello, hello]) {
        const from = load.done();
        load.send(bytes);
        await sleep(3000);
        phases.push(load.done() - from);
      }
      load.count(false);
      load.send(hello);
      await sleep(1500);
    }
    const counted = load.done();
    const tailPid = consumerPid;
    const before = cpuSeconds(server.pid!);
    const sysBefore = cpuSeconds(server.pid!, 'sys');
    const switchesBefore = switches(server.pid!);
    const tailBefore = tailPid !== undefined ? cpuSeconds(tailPid) : 0;
    const started = Date.now();
    load.count(true);
    const stats = process.env['TRACE_PROBE_SOCKET_STATS'] === '1' && trace.startsWith('unix:/tmp')
      ? socketStats(server.pid!, traceSock, Number(secondsArg)) : undefined;
    await sleep(Number(secondsArg) * 1000);
    load.count(false);
    const n = load.done() - counted;
    const serverUs = ((cpuSeconds(server.pid!) - before) * 1e6) / n;
    const serverSysUs = ((cpuSeconds(server.pid!, 'sys') - sysBefore) * 1e6) / n;
    const switchesAfter = switches(server.pid!);
    // Context switches of the serving process per 1,000 requests: waits (voluntary) and preemptions.
    const perK = (d: number): number => +((d * 1000) / n).toFixed(1);
    const tailUs = tailPid !== undefined ? ((cpuSeconds(tailPid) - tailBefore) * 1e6) / n : undefined;
    load.stop();
    const rps = Math.round(n / ((Date.now() - started) / 1000));
    process.stdout.write(`${JSON.stringify({ variant, mixed: mixed === '' ? undefined : mixed,
      ...(phases.length > 0 ? { mixedRequests: phases } : {}), requests: n, rps, serverUs: +serverUs.toFixed(1), serverSysUs: +serverSysUs.toFixed(1),
      serverWaitsPerK: perK(switchesAfter.voluntary - switchesBefore.voluntary),
      serverPreemptedPerK: perK(switchesAfter.involuntary - switchesBefore.involuntary), ...(tailUs !== undefined ? { tailUs: +tailUs.toFixed(1) } : {}),
      ...(stats !== undefined ? await stats.result(n) : {}) })}\n`);
    server.kill('SIGINT'); // a graceful stop, so --cpu-prof writes its profile
    await new Promise((r) => server.once('exit', r));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    drain?.close();
    if (variant === 'dashboard' || variant === 'drain-process') spawnSync('tmux', ['-L', tmuxServer, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`trace-probe: ${err.message}\n`);
  process.exit(1);
});
