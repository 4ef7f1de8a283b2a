import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isTracing, publish } from './channel';
import { Level } from './events';
import { traceOptions } from './redact';
import type { Sink } from './sink';
import { originalStderrWrite } from './stdio';
import { parseTraceTarget, type TraceTarget } from './target';

/** TRACE_FILE: a file next to the entry script naming the trace target, for servers that start
 * the script with a bare environment (mod_fcgid passes PATH only; lighttpd mod_cgi not even that). */
export const TRACE_FILE = '.dualcgi-trace';

/** TraceSetup: what a process traces to, and how it was decided. */
export interface TraceSetup {
  sink: Sink;
  target: TraceTarget;
  source: string;
}

let current: TraceSetup | null = null;

/**
 * resolveTraceTarget: the option, else DUALCGI_TRACE, else the first line of .dualcgi-trace in the
 * entry script's folder, else off.
 */
export function resolveTraceTarget(option: string | undefined, scriptDir: string | undefined): { target: TraceTarget; source: string } {
  if (option !== undefined) return { target: parseTraceTarget(option), source: 'option' };
  const env = process.env['DUALCGI_TRACE'];
  if (env !== undefined) return { target: parseTraceTarget(env), source: 'DUALCGI_TRACE' };
  if (scriptDir !== undefined) {
    const file = join(scriptDir, TRACE_FILE);
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) return { target: parseTraceTarget(text.split('\n')[0] ?? ''), source: file };
  }
  return { target: { kind: 'off' }, source: 'default' };
}

/** InstallOptions: what dispatch() knows when it starts tracing. */
export interface InstallOptions {
  trace?: string;
  scriptPath?: string;
  showSecrets?: boolean;
}

/** installTrace: create the sink and capture console output; idempotent per process. */
export function installTrace(options: InstallOptions, mode: string): TraceSetup {
  if (current) return current;
  traceOptions.showSecrets = options.showSecrets ?? process.env['DUALCGI_SHOW_SECRETS'] === '1';
  let target: TraceTarget;
  let source: string;
  let sink: Sink;
  try {
    ({ target, source } = resolveTraceTarget(options.trace, options.scriptPath ? dirname(options.scriptPath) : undefined));
    // With tracing off (the usual CGI hit) neither the sinks nor the console capture are loaded.
    sink = target.kind === 'off' ? OFF_SINK : (require('./sink') as typeof import('./sink')).createSink(target);
  } catch (err) {
    // The trace option (serve --trace, dispatch({ trace })) is checked where it is given. A bad
    // DUALCGI_TRACE or .dualcgi-trace (a typo, a file: target the web server's user may not open)
    // made every request fail, the process exiting before it served: the site down for a
    // debugging aid. Now one line in the error log, and the process serves untraced.
    if (options.trace !== undefined) throw err;
    const e = err as Error & { code?: unknown };
    originalStderrWrite(`dualcgi: tracing off: ${typeof e.code === 'string' ? `${e.code}: ` : ''}${e.message}\n`);
    target = { kind: 'off' };
    source = 'default';
    sink = OFF_SINK;
  }
  if (target.kind !== 'off') (require('./console-tap') as typeof import('./console-tap')).captureConsole(mode);
  current = { sink, target, source };
  if (sink.flushSync !== undefined) process.on('exit', (code) => traceSuddenExit(mode, code));
  return current;
}

/** exitTraced: traceProcessExit said why the process ends; an 'exit' without it is sudden. */
let exitTraced = false;

/**
 * traceSuddenExit: a process ending outside dualcgi's own stops (an app calling process.exit() in
 * a handler, a second uncaught exception) said nothing and lost what its sink had gathered: `tail`
 * and the dashboard showed nothing of the request that killed it, only the web server's 502 or
 * "End of script output before headers". Now its process.exit event, and everything gathered
 * (the request's records, its log lines), are written before it ends.
 */
function traceSuddenExit(mode: string, code: number): void {
  if (!exitTraced && isTracing()) {
    const reason = 'not a dualcgi stop (process.exit() in the app, or a second signal or fault)';
    publish({ ev: 'process.exit', mode, reason, code, level: code === 0 ? Level.warn : Level.error, msg: `process ${process.pid} exiting: ${reason}` });
  }
  current?.sink.flushSync?.();
}

/** OFF_SINK: the sink of a process that does not trace. */
const OFF_SINK: Sink = { flush: () => Promise.resolve(), close: () => {}, dropped: 0 };

/** appVersion: the version in the nearest package.json above the app, if any. */
export function appVersion(appPath: string): string | undefined {
  for (let dir = dirname(appPath); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      return typeof pkg.version === 'string' ? pkg.version : undefined;
    } catch {
      // keep looking upwards
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** traceProcessStart: the first event of a process: its mode and why (the detection evidence). */
export function traceProcessStart(mode: string, reason: string, app: string, scriptPath: string | undefined): void {
  if (!isTracing()) return;
  let user: string;
  try {
    // node:os only here: a CGI hit with tracing off does not load it (about 0.2 ms, bench/ cgi suite).
    user = (require('node:os') as typeof import('node:os')).userInfo().username;
  } catch {
    user = String(process.getuid?.() ?? '?');
  }
  const version = appVersion(app);
  publish({
    ev: 'process.start', mode, reason, app, user, node: process.version,
    ...(version !== undefined ? { version } : {}), ...(scriptPath !== undefined ? { script: scriptPath } : {}),
    msg: `${mode} process ${process.pid} started: ${reason}`,
  });
}

/** traceIdle: nothing to publish or flush (tracing off and nobody subscribed in process). */
export function traceIdle(): boolean {
  return !isTracing() && (current === null || current.target.kind === 'off');
}

/** traceProcessExit: the last event; then the sink is flushed (a CGI process exits right after). */
export async function traceProcessExit(mode: string, reason: string, code: number, flushMs = 500): Promise<void> {
  exitTraced = true;
  if (isTracing()) {
    publish({ ev: 'process.exit', mode, reason, code, level: code === 0 ? Level.info : Level.error, msg: `process ${process.pid} exiting: ${reason}` });
  }
  await current?.sink.flush(flushMs);
}
