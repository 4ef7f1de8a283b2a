// nginx suite: the same nginx (fastcgi_pass on a Unix socket, fastcgi_keep_conn on, upstream
// keepalive) in front of dualcgi and its peers — node-fastcgi (npm), Go net/http/fcgi on one core,
// php-fpm with one worker — and proxy_pass to node:http running the same app. wrk -t1.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../test/e2e/fixtures/world';
import {
  benchApp, startDualcgi, startGo, startNodeFastcgi, startNodeHttp, startPhp, type Backend,
} from '../lib/backends';
import { emptyResult, type Suite, type SuiteContext } from '../lib/context';
import { startFront } from '../lib/front';
import { buildGoPeer } from '../lib/go';
import { measureWorkloads, type HttpWorkload } from '../lib/http-rounds';
import { ratioTarget, type Group } from '../lib/results';

/**
 * node-fastcgi is measured twice from one process: as the issue measured it (fastcgi_keep_conn on:
 * it closes the connection anyway, so nginx keeps retrying dead pooled connections) and as one
 * would deploy it (keep_conn off, a new connection per request).
 */
const NO_KEEP = 'node-fastcgi-nokeep';
const PEERS = ['node-fastcgi', NO_KEEP, 'go-fcgi', 'php-fpm', 'node-http'];
const MAIN = ['dualcgi', ...PEERS];
const REFS = ['node-fastcgi', 'go-fcgi', 'node-http'];
/** BASE: the --baseline build of dualcgi, next to `dualcgi` in every workload that has it. */
const BASE = 'dualcgi-base';
const HELLO = 'Hello, World!\n';

const isHello = (b: Buffer): boolean => b.toString('utf8') === HELLO;

/** workloads: the list (hello c=32 and c=1, 64 KiB reply, 1 MiB POST, frameworks). */
function workloads(c: number, hono: boolean): HttpWorkload[] {
  const frameworks = ['dualcgi', 'dualcgi-express', 'node-http-express', ...(hono ? ['dualcgi-hono'] : [])];
  return [
    { id: 'hello-c32', title: `hello, wrk -t1 -c${c}`, path: '/', connections: c, metric: 'rps', variants: MAIN, refs: REFS, expect: isHello },
    { id: 'hello-c1', title: 'hello latency, wrk -t1 -c1 (p50)', path: '/', connections: 1, metric: 'latency', variants: MAIN, refs: REFS,
      expect: isHello },
    { id: '64k-c32', title: `64 KiB response, wrk -t1 -c${c}`, path: '/64k', connections: c, metric: 'rps', variants: MAIN, refs: REFS,
      expect: (b) => b.length === 65536 },
    { id: 'post-1m-c32', title: `1 MiB POST, wrk -t1 -c${c}`, path: '/post', connections: c, postBytes: 1 << 20, metric: 'rps',
      variants: MAIN, refs: REFS, expect: (b) => b.toString('utf8') === `received ${1 << 20}\n` },
    { id: 'frameworks-c32', title: `framework hello, wrk -t1 -c${c}`, path: '/', connections: c, metric: 'rps', variants: frameworks,
      refs: ['node-http-express', 'dualcgi'], expect: isHello },
  ];
}

/**
 * selectWorkloads: --workloads keeps the named workloads, --variants the named backends (refs
 * outside the selection are dropped), --baseline adds dualcgi-base after dualcgi.
 */
function selectWorkloads(ctx: SuiteContext, all: HttpWorkload[]): HttpWorkload[] {
  const { workloads, variants, baseline } = ctx.options;
  const picked = workloads.length === 0 ? all : all.filter((w) => workloads.includes(w.id));
  const keep = (v: string): boolean => variants.length === 0 || variants.includes(v) || (v === BASE && baseline !== undefined);
  return picked.map((w) => {
    const withBase = baseline !== undefined && w.variants.includes('dualcgi')
      ? w.variants.flatMap((v) => (v === 'dualcgi' ? [v, BASE] : [v])) : w.variants;
    return { ...w, variants: withBase.filter(keep), refs: w.refs.filter(keep) };
  }).filter((w) => w.variants.length > 0);
}

/** honoSupported: fetch apps exist when src/handlers/fetch.ts does (dispatch then serves them). */
function honoSupported(): boolean {
  return existsSync(path.join(repoRoot(), 'src', 'handlers', 'fetch.ts'));
}

/** startOptional: a peer that may be missing on this machine: its failure becomes a note. */
async function startOptional(ctx: SuiteContext, notes: string[], name: string, start: () => Promise<Backend>): Promise<Backend | undefined> {
  try {
    return await start();
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]!;
    notes.push(`${name} not measured: ${why}`);
    ctx.log(`${name} did not start: ${why}`);
    return undefined;
  }
}

async function startBackends(ctx: SuiteContext, notes: string[], hono: boolean, wanted: Set<string>): Promise<Backend[]> {
  const w = ctx.world;
  const hello = benchApp('hello');
  const express = benchApp('express-app');
  const starts: Array<[string, () => Promise<Backend>]> = [
    ['dualcgi', () => startDualcgi(w, 'dualcgi', { app: hello, trace: 'off' })],
    ['node-fastcgi', () => startNodeFastcgi(w, 'node-fastcgi', hello)],
    ['go-fcgi', async () => startGo(w, 'go-fcgi', await buildGoPeer(w))],
    ['php-fpm', () => startPhp(w, 'php-fpm')],
    ['node-http', () => startNodeHttp(w, 'node-http', hello)],
    ['dualcgi-express', () => startDualcgi(w, 'dualcgi-express', { app: express, trace: 'off' })],
    ['node-http-express', () => startNodeHttp(w, 'node-http-express', express)],
  ];
  if (hono) starts.push(['dualcgi-hono', () => startDualcgi(w, 'dualcgi-hono', { app: benchApp('hono-app'), trace: 'off' })]);
  const root = ctx.options.baseline;
  if (root !== undefined) starts.push([BASE, () => startDualcgi(w, BASE, { app: hello, trace: 'off', root: path.resolve(root) })]);
  const out: Backend[] = [];
  for (const [name, start] of starts) {
    // node-fastcgi-nokeep runs on node-fastcgi's process.
    if (!wanted.has(name) && !(name === 'node-fastcgi' && wanted.has(NO_KEEP))) continue;
    const b = await startOptional(ctx, notes, name, start);
    if (b) out.push(b);
  }
  return out;
}

function targets(groups: Group[]) {
  if (!['hello-c32', '64k-c32', 'post-1m-c32'].every((id) => groups.some((x) => x.id === id))) return [];
  const g = (id: string): Group => groups.find((x) => x.id === id)!;
  return [
    ratioTarget(g('hello-c32'), 'dualcgi', 'node-http', 1, 'nginx hello c32: >= 1.0x nginx proxy_pass to node:http'),
    ratioTarget(g('hello-c32'), 'dualcgi', 'node-fastcgi', 5, 'nginx hello c32: >= 5x node-fastcgi'),
    ratioTarget(g('hello-c32'), 'dualcgi', 'go-fcgi', 1, 'nginx hello c32: above Go net/http/fcgi (GOMAXPROCS=1)'),
    ratioTarget(g('64k-c32'), 'dualcgi', 'go-fcgi', 1, 'nginx 64 KiB response: >= Go net/http/fcgi'),
    ratioTarget(g('post-1m-c32'), 'dualcgi', 'go-fcgi', 1, 'nginx 1 MiB POST: >= Go net/http/fcgi'),
  ];
}

async function run(ctx: SuiteContext) {
  const result = emptyResult('nginx');
  const hono = honoSupported();
  if (!hono) result.notes.push('Hono skipped: src/handlers/fetch.ts does not exist (no fetch apps yet)');
  const chosen = selectWorkloads(ctx, workloads(ctx.options.connections, hono));
  const backends = await startBackends(ctx, result.notes, hono, new Set(chosen.flatMap((w) => w.variants)));
  try {
    const upstreams = backends.map((b) => b.upstream);
    const nfUpstream = upstreams.find((u) => u.name === 'node-fastcgi');
    if (nfUpstream) upstreams.push({ ...nfUpstream, name: NO_KEEP, keepConn: false });
    const front = await startFront(ctx.world, upstreams);
    try {
      // node-fastcgi-nokeep is the same process as node-fastcgi.
      const pids = new Map(backends.map((b) => [b.name, b.pid] as const));
      const nf = pids.get('node-fastcgi');
      if (nf !== undefined) pids.set(NO_KEEP, nf);
      result.groups.push(...await measureWorkloads(ctx, 'nginx', front, chosen,
        { front: front.server.pid, backends: pids }));
    } finally {
      await front.server.stop();
    }
  } finally {
    for (const b of backends.reverse()) await b.stop();
  }
  result.targets.push(...targets(result.groups));
  result.notes.push('backend us/req and nginx us/req: CPU time per request (utime+stime from /proc, the process and its ' +
    'children) of the backend and of nginx during the same wrk run: where the time goes, whatever else the machine does. ' +
    'On 2 cores wrk, nginx and the backend share the CPU, so a backend ratio is capped by nginx\'s own cost per request, ' +
    'which is higher for fastcgi_pass than for proxy_pass');
  result.notes.push('php-fpm runs with fastcgi_keep_conn off (one worker cannot serve a pool of kept connections); ' +
    'node-fastcgi closes every connection whatever nginx asks (KEEP_CONN ignored): with keep_conn on, nginx meets ' +
    `reset pooled connections and retries (its error log fills; 502s under POST), ${NO_KEEP} is the same process with keep_conn off`);
  return result;
}

/** nginxSuite: see the file comment. */
export const nginxSuite: Suite = { name: 'nginx', run };
