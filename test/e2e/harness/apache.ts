// Start a real Apache httpd (Debian's /usr/sbin/apache2) from its own config on 127.0.0.1.

import * as path from 'node:path';
import { freePort, launch, mkdirp, requireFile, which, writeFile, RunningServer } from './util';

export type ApacheMode = 'fcgid' | 'cgi' | 'cgid';

export interface ApacheOptions {
  /** Folder served as DocumentRoot (must be readable/searchable by www-data). */
  docroot: string;
  /** Which module runs scripts. */
  mode: ApacheMode;
  /** Appended at the end of httpd.conf (server context). */
  extraConfig?: string;
  /** `AllowOverride All` on the docroot (default true); false = `AllowOverride None`. */
  allowOverride?: boolean;
  /** MPM; default prefork for 'cgi', event otherwise. */
  mpm?: 'event' | 'prefork' | 'worker';
  /** `LogLevel` value; default `warn`, with `debug: true` it is `info <mode>:debug rewrite:trace2`. */
  logLevel?: string;
  debug?: boolean;
  /** Additional module names to load, e.g. ['headers', 'proxy', 'proxy_fcgi']. */
  modules?: string[];
  /** Folder for config, logs, sockets; default `<docroot>/../apache`. */
  dir?: string;
  /** Port; default a free one. */
  port?: number;
}

export interface RunningApache extends RunningServer {
  accessLog: string;
  /** Apache binary and config, e.g. to run `apache2 -f conf -k graceful` yourself. */
  bin: string;
  /** `apache2 -k graceful` equivalent: SIGUSR1 to the master. */
  graceful(): Promise<void>;
}

const MODULE_DIR = '/usr/lib/apache2/modules';

function loadModule(name: string): string {
  const file = requireFile(path.join(MODULE_DIR, `mod_${name}.so`), name === 'fcgid' ? 'libapache2-mod-fcgid' : 'apache2');
  return `LoadModule ${name}_module ${file}`;
}

export async function startApache(opts: ApacheOptions): Promise<RunningApache> {
  const bin = which('/usr/sbin/apache2', 'apache2');
  const docroot = path.resolve(opts.docroot);
  const dir = path.resolve(opts.dir ?? path.join(path.dirname(docroot), 'apache'));
  const port = opts.port ?? (await freePort());
  const logs = await mkdirp(path.join(dir, 'logs'));
  const run = await mkdirp(path.join(dir, 'run'));
  const errorLog = path.join(logs, 'error.log');
  const accessLog = path.join(logs, 'access.log');
  const configFile = path.join(dir, 'httpd.conf');
  const mpm = opts.mpm ?? (opts.mode === 'cgi' ? 'prefork' : 'event');
  // Per-module levels only for loaded modules (else `AH00526: ... Cannot find module fcgid`).
  const logLevel = opts.logLevel ?? (opts.debug ? `info ${opts.mode}:debug rewrite:trace2` : 'warn');
  const override = opts.allowOverride ?? true;

  // mod_log_config and mod_unixd are compiled in: a LoadModule for them fails.
  const modules = [
    `mpm_${mpm}`,
    'authz_core',
    'authz_host',
    'mime',
    'dir',
    'alias',
    'env',
    'setenvif',
    'headers',
    'rewrite',
    opts.mode,
    ...(opts.modules ?? []),
  ];
  const unique = [...new Set(modules)];

  const modeConfig: string[] = [];
  if (opts.mode === 'fcgid') {
    // The process manager runs as www-data: a root-owned IPC folder gives
    // `(13)Permission denied: mod_fcgid: couldn't bind unix domain socket .../fcgid/PID.0`.
    const ipc = await mkdirp(path.join(run, 'fcgid'), { owner: 'www-data' });
    modeConfig.push(
      `FcgidIPCDir ${ipc}`,
      `FcgidProcessTableFile ${path.join(run, 'fcgid_shm')}`,
      // 100 MiB so multi-megabyte POSTs pass (default 131072 -> 500).
      'FcgidMaxRequestLen 104857600',
      'FcgidIOTimeout 60',
      'FcgidConnectTimeout 10',
    );
  } else if (opts.mode === 'cgid') {
    modeConfig.push(`ScriptSock ${path.join(run, 'cgisock')}`);
  }

  const mpmConfig =
    mpm === 'prefork'
      ? ['StartServers 2', 'MinSpareServers 2', 'MaxSpareServers 10', 'MaxRequestWorkers 150']
      : ['StartServers 1', 'ThreadsPerChild 25', 'MaxRequestWorkers 150', 'ServerLimit 6'];

  const conf = [
    '# Written by test/e2e/harness/apache.ts',
    `ServerRoot ${dir}`,
    `DefaultRuntimeDir ${run}`,
    `PidFile ${path.join(run, 'httpd.pid')}`,
    `Mutex file:${run} default`,
    `Listen 127.0.0.1:${port}`,
    'ServerName 127.0.0.1',
    'User www-data',
    'Group www-data',
    ...unique.map(loadModule),
    ...mpmConfig,
    'Timeout 60',
    'KeepAlive On',
    `ErrorLog ${errorLog}`,
    `LogLevel ${logLevel}`,
    'LogFormat "%h %l %u %t \\"%r\\" %>s %b %D" timed',
    `CustomLog ${accessLog} timed`,
    'TypesConfig /etc/mime.types',
    'AccessFileName .htaccess',
    'DirectoryIndex index.html',
    `DocumentRoot ${docroot}`,
    '<Directory />',
    '    Options FollowSymLinks',
    '    AllowOverride None',
    '    Require all denied',
    '</Directory>',
    `<Directory ${docroot}>`,
    `    AllowOverride ${override ? 'All' : 'None'}`,
    '    Options +ExecCGI +FollowSymLinks',
    '    Require all granted',
    '</Directory>',
    '<FilesMatch "^\\.ht">',
    '    Require all denied',
    '</FilesMatch>',
    ...modeConfig,
    opts.extraConfig ?? '',
    '',
  ].join('\n');
  await writeFile(configFile, conf);

  const server = await launch({
    name: `apache (${opts.mode})`,
    bin,
    // -DFOREGROUND: the master stays our child (pid = process group), no detaching.
    args: ['-f', configFile, '-DFOREGROUND'],
    dir,
    configFile,
    errorLog,
    port,
    readyOn: port,
    extraDirs: [docroot],
  });
  return {
    ...server,
    accessLog,
    bin,
    stop: server.stop,
    readErrorLog: server.readErrorLog,
    graceful: async () => {
      process.kill(server.pid, 'SIGUSR1');
    },
  };
}
