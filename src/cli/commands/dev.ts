import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultListenPath } from '../../dashboard/listen';
import { type RunningDev, startDev } from '../../dev/server';
import { parseTraceTarget } from '../../trace/target';
import { parseArgs, stringFlag } from '../args';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';

const flags = {
  port: { short: 'p', type: 'string' },
  host: { type: 'string' },
  mode: { type: 'string' },
  trace: { type: 'string' },
  watch: { type: 'boolean' },
} as const;

/** banner: where to browse, what runs the script, which rules apply, where the trace goes. */
function banner(running: RunningDev, host: string, trace: string, watch: boolean): string {
  const how = running.backend.mode === 'cgi' ? 'CGI, a process per request, as mod_cgi' : 'FastCGI, a listening socket on fd 0, as mod_fcgid';
  const lines = [
    `dualcgi dev: http://${host}:${running.port}/`,
    `  ${running.script} (${how})`,
    `  rewrite: ${running.rules.rules.map((r) => `${r.pattern.source} -> ${r.target}`).join(', ')}`,
    ...running.rules.ignored.map((l) => `  not emulated: ${l}`),
    `  trace: ${trace}${trace.startsWith('unix:') ? '  (watch it: dualcgi dashboard)' : ''}`,
  ];
  if (running.backend.mode === 'fcgi' && !watch) lines.push('  code changes: --watch reloads on save, or --mode cgi');
  return `${lines.join('\n')}\n`;
}

/**
 * dev: a local web front (not for production) that treats DOCROOT as Apache + mod_fcgid (or
 * mod_cgi) with the classic .htaccess would, with the app's trace going where `dualcgi dashboard`
 * listens by default.
 */
export const dev: Command = {
  summary: 'local web front: static files + dispatch.fcgi/.cgi exactly as Apache would run them',
  usage: 'dualcgi dev [--port N (default 8080, 0 = any)] [--host 127.0.0.1] [--mode cgi|fcgi] [--trace TARGET|off] [--watch] DOCROOT',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length !== 1) throw new UsageError('expected exactly one DOCROOT');
    const docroot = resolve(args.positionals[0]!);
    if (!existsSync(docroot) || !statSync(docroot).isDirectory()) throw new CliError('DEV_ERR_DOCROOT', `${docroot} is not a folder`);
    const portFlag = stringFlag(args, 'port') ?? '8080';
    // Digits only: Number() reads '' as 0 (any port) and 0x50 as 80.
    const port = /^\d{1,5}$/.test(portFlag) ? Number(portFlag) : -1;
    if (port < 0 || port > 65535) throw new UsageError(`--port takes a port number (0 = any free port), not ${JSON.stringify(portFlag)}`);
    const mode = stringFlag(args, 'mode');
    if (mode !== undefined && mode !== 'cgi' && mode !== 'fcgi') throw new UsageError('--mode must be cgi or fcgi');
    const trace = stringFlag(args, 'trace') ?? `unix:${defaultListenPath()}`;
    try {
      parseTraceTarget(trace);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const env: Record<string, string> = { DUALCGI_TRACE: trace };
    if (args.flags['watch'] === true) env['DUALCGI_WATCH'] = '1';
    // Every line marked, a script's stderr of several lines included.
    const log = (text: string): void => { io.stderr.write(`${text.split('\n').map((l) => `dev: ${l}`).join('\n')}\n`); };
    let running;
    try {
      running = await startDev({ docroot, port, host: stringFlag(args, 'host') ?? '127.0.0.1', ...(mode ? { mode } : {}), env, log });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError('DEV_ERR_PORT', `port ${port} is in use; fix: --port ${port + 1} (or --port 0 for any)`);
      throw err;
    }
    io.stdout.write(banner(running, stringFlag(args, 'host') ?? '127.0.0.1', trace, args.flags['watch'] === true));
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void running.close().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
