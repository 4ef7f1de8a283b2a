// Start a real php-fpm (Debian's /usr/sbin/php-fpm8.2) from its own config: a foreign FastCGI app.

import * as path from 'node:path';
import { launch, makeWorld, mkdirp, which, writeFile, RunningServer } from './util';

export interface PhpFpmOptions {
  /** A Unix socket path ('/path', 'unix:/path') or 'host:port'. */
  listen: string;
  /** Folder for config, logs; default a new world. */
  dir?: string;
  /** pm.max_children with pm = static (default 1). */
  children?: number;
  /** Appended to the [www] pool. */
  poolConfig?: string;
}

export interface RunningPhpFpm extends RunningServer {
  /** The address as php-fpm was told (socket path or host:port). */
  listen: string;
  /** The same as an nginx `fastcgi_pass` / dualcgi address ('unix:/path' or 'host:port'). */
  address: string;
}

function parseListen(listen: string): { socket?: string; port?: number; value: string; address: string } {
  const s = listen.startsWith('unix:') ? listen.slice(5) : listen;
  if (s.startsWith('/')) return { socket: s, value: s, address: `unix:${s}` };
  const m = /^(?:(.*):)?(\d+)$/.exec(s);
  if (!m) throw new Error(`e2e: php-fpm listen address not understood: ${listen}`);
  const host = m[1] || '127.0.0.1';
  return { port: Number(m[2]), value: `${host}:${m[2]}`, address: `${host}:${m[2]}` };
}

export async function startPhpFpm(opts: PhpFpmOptions): Promise<RunningPhpFpm> {
  const bin = which('/usr/sbin/php-fpm8.2', 'php-fpm');
  const dir = path.resolve(opts.dir ?? (await makeWorld('php-fpm')));
  await mkdirp(dir);
  const logs = await mkdirp(path.join(dir, 'logs'));
  const errorLog = path.join(logs, 'php-fpm.log');
  const configFile = path.join(dir, 'php-fpm.conf');
  const l = parseListen(opts.listen);
  if (l.socket) await mkdirp(path.dirname(l.socket));
  const conf = [
    '; Written by test/e2e/harness/php-fpm.ts',
    '[global]',
    `pid = ${path.join(dir, 'php-fpm.pid')}`,
    `error_log = ${errorLog}`,
    'daemonize = no',
    '',
    '[www]',
    'user = www-data',
    'group = www-data',
    `listen = ${l.value}`,
    'listen.owner = www-data',
    'listen.group = www-data',
    // nginx workers (www-data) must be able to connect.
    'listen.mode = 0666',
    'pm = static',
    `pm.max_children = ${opts.children ?? 1}`,
    'catch_workers_output = yes',
    'decorate_workers_output = no',
    opts.poolConfig ?? '',
    '',
  ].join('\n');
  await writeFile(configFile, conf);
  const server = await launch({
    name: 'php-fpm',
    bin,
    // -F: stay in the foreground (our child, stoppable by pid); -y: our config.
    args: ['-F', '-y', configFile],
    dir,
    configFile,
    errorLog,
    port: l.port ?? 0,
    readyOn: l.socket ?? l.port ?? 0,
  });
  return { ...server, listen: l.value, address: l.address };
}
