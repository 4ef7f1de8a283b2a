// trace suite: what tracing costs dualcgi behind nginx (hello, wrk -t1 -c32): tracing off, on
// with nobody listening, on with a listener consuming every event — in this process
// (src/trace/listener.ts), as `dualcgi tail --json > /dev/null` (a separate process) and as the
// real `dualcgi dashboard`, running in a detached tmux session (when tmux is installed).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import * as path from 'node:path';
import { repoRoot } from '../../test/e2e/fixtures/world';
import { launch, mkdirp } from '../../test/e2e/harness/util';
import { listenForTraces } from '../../src/trace/listener';
import { cpuSeconds as allCpuSeconds } from '../lib/cpu';
import { benchApp, startDualcgi, type Backend } from '../lib/backends';
import { onCleanup } from '../lib/cleanup';
import { emptyResult, type Suite, type SuiteContext } from '../lib/context';
import { startFront } from '../lib/front';
import { measureWorkloads, rotated } from '../lib/http-rounds';
import { createGroup, ratioTarget, seriesOf, type Group } from '../lib/results';
import { median } from '../lib/stats';
import { runWrk } from '../lib/wrk';

const OFF = 'off';
const NO_LISTENER = 'on, nobody listening';
const IN_PROCESS = 'on, listener (in-process)';
const TAIL = 'on, tail --json attached';
const DASHBOARD = 'on, dashboard attached (tmux)';
/**
 * DISCARD: a node process that listens and throws every byte away: what any consumer in a process of
 * its own costs the chain before it does any work (the dashboard's ratio can be no better).
 */
const DISCARD = 'on, discarding process attached';

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

/** childTicks: CPU ticks of this process's reaped children (cutime + cstime): a wrk run's, once it has exited. */
function childTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]);
}

/** idleTicks: the machine's idle (+ iowait), softirq and total ticks, all cores, from /proc/stat. */
function idleTicks(): { idle: number; softirq: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: cpu[3]! + cpu[4]!, softirq: cpu[5]! + cpu[6]!, total: cpu.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** allTicks: utime + stime of every process now, by pid (who else took the machine during a run). */
function allTicks(): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone
    }
  }
  return out;
}

/** others: the processes outside `mine` that used the most CPU between two allTicks, as `name pid ticks`. */
function others(before: Map<number, { name: string; ticks: number }>, after: Map<number, { name: string; ticks: number }>, mine: Set<number>): string {
  const used: Array<[string, number]> = [];
  let total = 0;
  for (const [pid, a] of after) {
    if (mine.has(pid)) continue;
    const d = a.ticks - (before.get(pid)?.ticks ?? 0);
    if (d <= 0) continue;
    total += d;
    used.push([`${a.name}:${pid}`, d]);
  }
  used.sort((x, y) => y[1] - x[1]);
  return `${total} ticks (${used.slice(0, 4).map(([n, d]) => `${n} ${d}`).join(', ')})`;
}

/** childrenPids: the direct children of `pid` (nginx's worker). */
function childrenPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Running: the consumer process (tail or the dashboard), for its CPU time. */
interface Tail {
  pid: number;
  /** helper: a process that works for this one (the dashboard's tmux server, drawing its output). */
  helper?: number;
  stop(): Promise<void>;
}

/**
 * startListener: a consumer process listening on SOCK, started by `sh -c` with `args` after node
 * (its stderr to NAME.log in a folder of its own), stopped by pid.
 */
async function startListener(world: string, name: string, label: string, args: string, sock: string): Promise<Tail> {
  const dir = await mkdirp(path.join(world, `trace-${name}`));
  const log = path.join(dir, `${name}.log`);
  const cmd = `exec '${process.execPath}' ${args} 2>>'${log}'`;
  const server = await launch({
    name: label, bin: '/bin/sh', args: ['-c', cmd], env: { PATH: '/usr/bin:/bin', HOME: dir },
    dir, cwd: dir, configFile: cmd, errorLog: log, port: 0, readyOn: sock,
  });
  const off = onCleanup(label, () => server.stop());
  return {
    pid: server.pid,
    stop: async () => {
      off();
      await server.stop();
    },
  };
}

/** startTail: `dualcgi tail --json --listen unix:SOCK > /dev/null` as its own process. */
function startTail(world: string, sock: string): Promise<Tail> {
  return startListener(world, 'tail', 'dualcgi tail',
    `'${path.join(repoRoot(), 'bin', 'dualcgi')}' tail --json --listen 'unix:${sock}' >/dev/null`, sock);
}

/** startDiscard: a node process listening on SOCK that reads and discards everything. */
function startDiscard(world: string, sock: string): Promise<Tail> {
  const script = 'require("node:net").createServer((s) => s.resume()).listen(process.argv[1])';
  return startListener(world, 'discard', 'discarding listener', `-e '${script}' '${sock}'`, sock);
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
  const helper = Number(tmux('display-message', '-p', '-t', 'bench', '#{pid}').trim());
  return {
    pid,
    helper,
    stop: async () => {
      off();
      await stop();
    },
  };
}

/**
 * quiet: resolves once the consumers (tail, the dashboard) and this process (the in-process
 * listener) have used no CPU for 200 ms, or after 15 s; logs how long that took when it was not at
 * once. A consumer slower than its producer is still reading the last run's backlog when the next
 * run starts: tail (~22 µs a request, read while the serving process keeps up to 8 MiB queued for
 * it) was measured taking ~2.5 s of CPU, about half a core, during the next variant's 5 s run, and
 * the next variant was always the dashboard's (bench/README, trace, "Seventh session").
 */
async function quiet(ctx: SuiteContext, consumers: number[]): Promise<void> {
  const started = Date.now();
  const sample = (): number => consumers.reduce((sum, pid) => sum + (cpuSeconds(pid) || 0), 0) * 1e6 +
    process.cpuUsage().user + process.cpuUsage().system;
  let last = sample();
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const now = sample();
    // A tick is 10 ms; this process's own timers and /proc reads take a little.
    if (now - last < 5000) break;
    last = now;
    if (Date.now() - started > 15_000) {
      ctx.log('trace: the consumers were still busy after 15 s; measuring anyway');
      return;
    }
  }
  const waited = Date.now() - started;
  if (waited > 400) ctx.log(`trace: waited ${(waited / 1000).toFixed(1)} s for the consumers to finish the last run's backlog`);
}

/**
 * measureCpu: CPU per request, which a busy shared machine disturbs far less than req/s: for each
 * round and variant one more wrk run, with utime+stime of the serving process (and of tail, for
 * the tail variant) read from /proc before and after, divided by the requests wrk completed.
 */
async function measureCpu(ctx: SuiteContext, url: (variant: string) => string, variants: string[], pids: number[],
  consumers: Map<string, Tail>, nginx: number): Promise<Group> {
  const c = ctx.options.connections;
  const group = createGroup('trace', 'hello-cpu', `CPU per request in the serving process (µs), hello, wrk -t1 -c${c}`,
    'µs/req', false, variants, [OFF]);
  // Every process of the chain is accounted (nginx with its worker, wrk, the consumer and its tmux
  // server), and how much of the machine stayed idle: is a ratio short of CPU, or of wakeups?
  const extras = new Map<string, Map<string, number[]>>();
  const note = (v: string, column: string, value: number): void => {
    const byColumn = extras.get(v) ?? new Map<string, number[]>();
    extras.set(v, byColumn);
    const samples = byColumn.get(column) ?? [];
    samples.push(value);
    byColumn.set(column, samples);
    seriesOf(group, v).extra[column] = median(samples);
  };
  for (let r = 1; r <= ctx.options.rounds; r++) {
    // Each round's order rotated by one, as measureWorkloads does (http-rounds.ts rotated()).
    for (const i of rotated(variants.map((_, j) => j), r - 1)) {
      const v = variants[i]!;
      const consumer = consumers.get(v);
      await quiet(ctx, [...consumers.values()].map((t) => t.pid));
      const before = cpuSeconds(pids[i]!);
      const consumerBefore = consumer !== undefined ? cpuSeconds(consumer.pid) : 0;
      const helperBefore = consumer?.helper !== undefined ? cpuSeconds(consumer.helper) : 0;
      const nginxBefore = allCpuSeconds(nginx);
      const wrkBefore = childTicks();
      const idleBefore = idleTicks();
      const procsBefore = allTicks();
      const res = await runWrk({ url: url(v), connections: c, seconds: ctx.options.seconds, dir: ctx.world });
      const perRequest = (seconds: number): number => (seconds * 1e6) / res.requests;
      const us = perRequest(cpuSeconds(pids[i]!) - before);
      const idleAfter = idleTicks();
      const procsAfter = allTicks();
      const series = seriesOf(group, v);
      series.samples.push(us);
      series.errors += res.errors;
      let shown = `${us.toFixed(1)} µs/req`;
      if (consumer !== undefined) {
        const consumerUs = perRequest(cpuSeconds(consumer.pid) - consumerBefore);
        note(v, 'listener µs/req', consumerUs);
        shown += `, listener process ${consumerUs.toFixed(1)} µs/req`;
        if (consumer.helper !== undefined) {
          const helperUs = perRequest(cpuSeconds(consumer.helper) - helperBefore);
          note(v, 'tmux µs/req', helperUs);
          shown += `, tmux ${helperUs.toFixed(1)}`;
        }
      }
      const nginxUs = perRequest(allCpuSeconds(nginx) - nginxBefore);
      const wrkUs = perRequest((childTicks() - wrkBefore) / (clockTicks || 100));
      const totalTicks = Math.max(1, idleAfter.total - idleBefore.total);
      const idle = (100 * (idleAfter.idle - idleBefore.idle)) / totalTicks;
      const softirq = (100 * (idleAfter.softirq - idleBefore.softirq)) / totalTicks;
      const mine = new Set([process.pid, pids[i]!, nginx, ...childrenPids(nginx), ...(consumer ? [consumer.pid, consumer.helper ?? 0] : [])]);
      note(v, 'nginx µs/req', nginxUs);
      note(v, 'wrk µs/req', wrkUs);
      note(v, 'idle %', idle);
      ctx.log(`trace cpu round ${r}/${ctx.options.rounds} ${v}: ${shown}, nginx ${nginxUs.toFixed(1)}, wrk ${wrkUs.toFixed(1)}, ` +
        `${Math.round(res.rps)} req/s, machine idle ${idle.toFixed(1)}%, irq+softirq ${softirq.toFixed(1)}% of ${totalTicks} ticks, ` +
        `others ${others(procsBefore, procsAfter, mine)}`);
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
  const discardSock = path.join(dir, 'discard.sock');
  const discard = await startDiscard(w, discardSock);
  const dashboardSock = path.join(dir, 'dashboard.sock');
  const dashboard = await startDashboard(w, dashboardSock);
  if (!dashboard) result.notes.push('dashboard variant skipped: tmux is not installed');
  const backends: Backend[] = [
    await startDualcgi(w, 'trace-off', { app: hello, trace: 'off' }),
    await startDualcgi(w, 'trace-nolistener', { app: hello, trace: 'unix:/nonexistent.sock' }),
    await startDualcgi(w, 'trace-inprocess', { app: hello, trace: `unix:${inProcessSock}` }),
    ...(hasTail ? [await startDualcgi(w, 'trace-tail', { app: hello, trace: `unix:${tailSock}` })] : []),
    await startDualcgi(w, 'trace-discard', { app: hello, trace: `unix:${discardSock}` }),
    ...(dashboard ? [await startDualcgi(w, 'trace-dashboard', { app: hello, trace: `unix:${dashboardSock}` })] : []),
  ];
  const labels = [OFF, NO_LISTENER, IN_PROCESS, ...(hasTail ? [TAIL] : []), DISCARD, ...(dashboard ? [DASHBOARD] : [])];
  const consumers = new Map<string, Tail>();
  if (tail) consumers.set(TAIL, tail);
  consumers.set(DISCARD, discard);
  if (dashboard) consumers.set(DASHBOARD, dashboard);
  try {
    const front = await startFront(w, backends.map((b, i) => ({ ...b.upstream, name: labels[i]! })));
    try {
      const c = ctx.options.connections;
      result.groups.push(...await measureWorkloads(ctx, 'trace', front, [{
        id: 'hello-c32', title: `tracing cost, hello through nginx, wrk -t1 -c${c}`, path: '/', connections: c, metric: 'rps',
        variants: labels, refs: [OFF], expect: (b) => b.toString('utf8') === 'Hello, World!\n',
      }], undefined, () => quiet(ctx, [...consumers.values()].map((t) => t.pid))));
      const cpu = await measureCpu(ctx, (v) => front.url(v, '/'), labels, backends.map((b) => b.pid), consumers, front.server.pid);
      result.groups.push(cpu);
    } finally {
      await front.server.stop();
    }
  } finally {
    for (const b of backends.reverse()) await b.stop();
    await tail?.stop();
    await discard.stop();
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
