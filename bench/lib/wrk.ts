// wrk runs with a Lua script whose done() prints the summary as one JSON line, so nothing is
// parsed out of wrk's human-readable report.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { which } from '../../test/e2e/harness/util';
import { trackChild } from './cleanup';

/** WrkSpec: one run. */
export interface WrkSpec {
  url: string;
  connections: number;
  seconds: number;
  /** body: a POST body of this many bytes ('x'), sent with every request. */
  postBytes?: number;
  /** dir: where the generated Lua script goes. */
  dir: string;
}

/** WrkResult: the summary of one run; latencies in milliseconds. */
export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  bytes: number;
  /** errors: connect + read + write + timeout socket errors, plus non-2xx/3xx responses. */
  errors: number;
  latencyMeanMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

interface WrkJson {
  requests: number; duration_us: number; bytes: number; connect: number; read: number; write: number;
  status: number; timeout: number; lat_mean: number; lat_p50: number; lat_p99: number;
}

/** luaScript: the request setup and the JSON summary (latencies are microseconds in wrk). */
function luaScript(spec: WrkSpec): string {
  const lines = ['-- written by bench/lib/wrk.ts'];
  if (spec.postBytes !== undefined) {
    lines.push('wrk.method = "POST"', `wrk.body = string.rep("x", ${spec.postBytes})`,
      'wrk.headers["Content-Type"] = "application/octet-stream"');
  }
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'\\nBENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' +
      '"write":%d,"status":%d,"timeout":%d,"lat_mean":%f,"lat_p50":%d,"lat_p99":%d}\\n\',',
    '    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency.mean, latency:percentile(50), latency:percentile(99)))',
    'end',
  );
  return lines.join('\n') + '\n';
}

let scriptNo = 0;

/** runWrk: one wrk -t1 run; rejects when wrk fails or prints no summary. */
export async function runWrk(spec: WrkSpec): Promise<WrkResult> {
  const script = join(spec.dir, `wrk-${process.pid}-${++scriptNo}.lua`);
  writeFileSync(script, luaScript(spec));
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '30s', '-s', script, spec.url];
  const child = spawn(which('wrk', 'wrk'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild('wrk', child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}): ${(err || out).trim().slice(-500)}`);
  const j = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkJson;
  const seconds = j.duration_us / 1e6;
  return {
    requests: j.requests,
    seconds,
    rps: j.requests / seconds,
    bytes: j.bytes,
    errors: j.connect + j.read + j.write + j.timeout + j.status,
    latencyMeanMs: j.lat_mean / 1000,
    latencyP50Ms: j.lat_p50 / 1000,
    latencyP99Ms: j.lat_p99 / 1000,
  };
}
