// trace suite: what tracing costs dualcgi behind nginx (hello, wrk -t1 -c32): tracing off, on
// with nobody listening, on with a listener consuming every event — in this process
// (src/trace/listener.ts), as `dualcgi tail --json > /dev/null` (a separate process) and as the
// real `dualcgi dashboard`, running in a detached tmux session (when tmux is installed).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import * as path from 'node:path';
import { repoRoot } from '../../test/e2e/fixtures/world';
import { launch, mkdirp } from '../../test/e2e/harness/util';
import { listenForTraces } from '../../src/trace/listener';
import { benchApp, startDualcgi, type Backend } from '../lib/backends';
import { onCleanup } from '../lib/cleanup';
import { emptyResult, type Suite, type SuiteContext } from '../lib/context';
import { startFront } from '../lib/front';
import { measureWorkloads } from '../lib/http-rounds';
import { createGroup, ratioTarget, seriesOf, type Group } from '../lib/results';
import { median } from '../lib/stats';
import { runWrk } from '../lib/wrk';

const OFF = 'off';
const NO_LISTENER = 'on, nobody listening';
const IN_PROCESS = 'on, listener (in-process)';
const TAIL = 'on, tail --json attached';
const DASHBOARD = 'on, dashboard attached (tmux)';

let clockTicks = 0;

/** cpuSeconds: utime + stime of `pid` from /proc/PID/stat (NaN when it is gone). */
function cpuSeconds(pid: number): number {
  try {
    if (clockTicks === 0) clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/** Running: the consumer process (tail or the dashboard), for its CPU time. */
interface Tail {
  pid: number;
  stop(): Promise<void>;
}

/** startTail: `dualcgi tail --json --listen unix:SOCK > /dev/null` as its own process. */
async function startTail(world: string, sock: string): Promise<Tail> {
  const dir = await mkdirp(path.join(world, 'trace-tail'));
  const log = path.join(dir, 'tail.log');
  const cmd = `exec '${process.execPath}' '${path.join(repoRoot(), 'bin', 'dualcgi')}' tail --json --listen 'unix:${sock}' >/dev/null 2>>'${log}'`;
  const server = await launch({
    name: 'dualcgi tail', bin: '/bin/sh', args: ['-c', cmd], env: { PATH: '/usr/bin:/bin', HOME: dir },
    dir, cwd: dir, configFile: cmd, errorLog: log, port: 0, readyOn: sock,
  });
  const off = onCleanup('dualcgi tail', () => server.stop());
  return {
    pid: server.pid,
    stop: async () => {
      off();
      await server.stop();
    },
  };
}

/**
 * startDashboard: `dualcgi dashboard --listen unix:SOCK` in a detached 160x48 tmux session on a
 * tmux server of its own (never the user's); undefined without tmux.
 */
async function startDashboard(world: string, sock: string): Promise<Tail | undefined> {
  if (spawnSync('tmux', ['-V']).status !== 0) return undefined;
  const dir = await mkdirp(path.join(world, 'trace-dashboard'));
  const server = `dualcgi-bench-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
  const cmd = `exec '${process.execPath}' '${path.join(repoRoot(), 'bin', 'dualcgi')}' dashboard --listen 'unix:${sock}' 2>>'${path.join(dir, 'dashboard.log')}'`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'bench', '-x', '160', '-y', '48', '-e', 'LANG=C.UTF-8', cmd);
  const stop = async (): Promise<void> => {
    spawnSync('tmux', ['-L', server, 'kill-server']);
  };
  const off = onCleanup('dualcgi dashboard (tmux)', stop);
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(sock)) {
    off();
    await stop();
    throw new Error(`the dashboard did not listen on ${sock}: ${readFileSync(path.join(dir, 'dashboard.log'), 'utf8').slice(-500)}`);
  }
  const pid = Number(tmux('list-panes', '-t', 'bench', '-F', '#{pane_pid}').trim());
  return {
    pid,
    stop: async () => {
      off();
      await stop();
    },
  };
}

/**
 * measureCpu: CPU per request, which a busy shared machine disturbs far less than req/s: for each
 * round and variant one more wrk run, with utime+stime of the serving process (and of tail, for
 * the tail variant) read from /proc before and after, divided by the requests wrk completed.
 */
async function measureCpu(ctx: SuiteContext, url: (variant: string) => string, variants: string[], pids: number[],
  consumers: Map<string, number>): Promise<Group> {
  const c = ctx.options.connections;
  const group = createGroup('trace', 'hello-cpu', `CPU per request in the serving process (µs), hello, wrk -t1 -c${c}`,
    'µs/req', false, variants, [OFF]);
  const consumerSamples = new Map<string, number[]>();
  for (let r = 1; r <= ctx.options.rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[i]!;
      const consumer = consumers.get(v);
      const before = cpuSeconds(pids[i]!);
      const consumerBefore = consumer !== undefined ? cpuSeconds(consumer) : 0;
      const res = await runWrk({ url: url(v), connections: c, seconds: ctx.options.seconds, dir: ctx.world });
      const us = ((cpuSeconds(pids[i]!) - before) * 1e6) / res.requests;
      const series = seriesOf(group, v);
      series.samples.push(us);
      series.errors += res.errors;
      let shown = `${us.toFixed(1)} µs/req`;
      if (consumer !== undefined) {
        const consumerUs = ((cpuSeconds(consumer) - consumerBefore) * 1e6) / res.requests;
        const samples = consumerSamples.get(v) ?? [];
        samples.push(consumerUs);
        consumerSamples.set(v, samples);
        series.extra['listener µs/req'] = median(samples);
        shown += `, listener process ${consumerUs.toFixed(1)} µs/req`;
      }
      ctx.log(`trace cpu round ${r}/${ctx.options.rounds} ${v}: ${shown}`);
    }
  }
  return group;
}

async function run(ctx: SuiteContext) {
  const result = emptyResult('trace');
  const w = ctx.world;
  const hello = benchApp('hello');
  const dir = await mkdirp(path.join(w, 'trace'));
  const inProcessSock = path.join(dir, 'in-process.sock');
  let events = 0;
  const listener: Server = await listenForTraces(inProcessSock, () => {
    events++;
  });
  const closeListener = onCleanup('trace listener', async () => {
    listener.close();
  });
  const hasTail = existsSync(path.join(repoRoot(), 'src', 'cli', 'commands', 'tail.ts'));
  const tailSock = path.join(dir, 'tail.sock');
  const tail = hasTail ? await startTail(w, tailSock) : undefined;
  if (!hasTail) result.notes.push('tail variant skipped: no `dualcgi tail` command');
  const dashboardSock = path.join(dir, 'dashboard.sock');
  const dashboard = await startDashboard(w, dashboardSock);
  if (!dashboard) result.notes.push('dashboard variant skipped: tmux is not installed');
  const backends: Backend[] = [
    await startDualcgi(w, 'trace-off', { app: hello, trace: 'off' }),
    await startDualcgi(w, 'trace-nolistener', { app: hello, trace: 'unix:/nonexistent.sock' }),
    await startDualcgi(w, 'trace-inprocess', { app: hello, trace: `unix:${inProcessSock}` }),
    ...(hasTail ? [await startDualcgi(w, 'trace-tail', { app: hello, trace: `unix:${tailSock}` })] : []),
    ...(dashboard ? [await startDualcgi(w, 'trace-dashboard', { app: hello, trace: `unix:${dashboardSock}` })] : []),
  ];
  const labels = [OFF, NO_LISTENER, IN_PROCESS, ...(hasTail ? [TAIL] : []), ...(dashboard ? [DASHBOARD] : [])];
  const consumers = new Map<string, number>();
  if (tail) consumers.set(TAIL, tail.pid);
  if (dashboard) consumers.set(DASHBOARD, dashboard.pid);
  try {
    const front = await startFront(w, backends.map((b, i) => ({ ...b.upstream, name: labels[i]! })));
    try {
      const c = ctx.options.connections;
      result.groups.push(...await measureWorkloads(ctx, 'trace', front, [{
        id: 'hello-c32', title: `tracing cost, hello through nginx, wrk -t1 -c${c}`, path: '/', connections: c, metric: 'rps',
        variants: labels, refs: [OFF], expect: (b) => b.toString('utf8') === 'Hello, World!\n',
      }]));
      const cpu = await measureCpu(ctx, (v) => front.url(v, '/'), labels, backends.map((b) => b.pid), consumers);
      result.groups.push(cpu);
    } finally {
      await front.server.stop();
    }
  } finally {
    for (const b of backends.reverse()) await b.stop();
    await tail?.stop();
    await dashboard?.stop();
    closeListener();
    listener.close();
    rmSync(inProcessSock, { force: true });
  }
  const g = result.groups[0]!;
  result.targets.push(
    ratioTarget(g, NO_LISTENER, OFF, 0.97, 'tracing compiled in, nobody listening: >= 0.97x tracing off'),
    ratioTarget(g, dashboard ? DASHBOARD : hasTail ? TAIL : IN_PROCESS, OFF, 0.7,
      `tracing with a listener attached (${dashboard ? 'the dashboard' : hasTail ? 'tail --json' : 'in process'}): >= 0.7x tracing off`),
  );
  result.notes.push(`the in-process listener received ${events.toLocaleString('en-US')} trace events` +
    (events === 0 ? ' (NONE: tracing to a listener is not working, that variant measured nothing)' : ''));
  return result;
}

/** traceSuite: see the file comment. */
export const traceSuite: Suite = { name: 'trace', run };
