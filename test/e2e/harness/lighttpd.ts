// Start a real lighttpd (Debian's /usr/sbin/lighttpd) from its own config on 127.0.0.1.

import * as path from 'node:path';
import { freePort, launch, mkdirp, which, writeFile, RunningServer } from './util';

export interface LighttpdOptions {
  /** server.document-root (readable by www-data). */
  docroot: string;
  /** A FastCGI app (e.g. dispatch.fcgi) lighttpd spawns itself with `bin-path`; "/" goes to it. */
  binPath: string;
  /** `"fix-root-scriptname" => "enable"`: SCRIPT_NAME "" and PATH_INFO the whole path. */
  fixRootScriptname?: boolean;
  /** URLs under this prefix (e.g. '/static/') are served from docroot, not by the backend. */
  staticPrefix?: string;
  /** max-procs (default 1). */
  maxProcs?: number;
  /** Environment for the backend (`bin-environment`). */
  binEnvironment?: Record<string, string>;
  /** Appended to lighttpd.conf. */
  extraConfig?: string;
  /** Folder for config, logs, sockets; default `<docroot>/../lighttpd`. */
  dir?: string;
  port?: number;
}

export interface RunningLighttpd extends RunningServer {
  /** Backend stderr lands here (server.breakagelog). */
  breakageLog: string;
  accessLog: string;
  /** Folder holding the backend sockets (`socket-N`). */
  socketDir: string;
  /** SIGUSR1: graceful restart (backends respawned). */
  graceful(): Promise<void>;
}

export interface LighttpdCgiOptions {
  docroot: string;
  /** Extensions run by mod_cgi (default ['.cgi']); each runs as an executable (no interpreter). */
  cgiExtensions?: string[];
  /** When set, every URL not under staticPrefix and not an existing file is rewritten to
   *  `/<rewriteTo>/<path>` (e.g. 'dispatch.cgi'), like the Apache .htaccess. */
  rewriteTo?: string;
  staticPrefix?: string;
  extraConfig?: string;
  dir?: string;
  port?: number;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A lighttpd config string: only `\"` is an escape there; other backslashes stay as they are. */
function q(s: string): string {
  return '"' + s.replace(/"/g, '\\"') + '"';
}

interface Prepared {
  bin: string;
  dir: string;
  port: number;
  logs: string;
  errorLog: string;
  breakageLog: string;
  accessLog: string;
  configFile: string;
  base: string[];
}

async function prepare(docrootIn: string, dirIn: string | undefined, portIn: number | undefined, modules: string[]): Promise<Prepared> {
  const bin = which('/usr/sbin/lighttpd', 'lighttpd');
  const docroot = path.resolve(docrootIn);
  const dir = path.resolve(dirIn ?? path.join(path.dirname(docroot), 'lighttpd'));
  const port = portIn ?? (await freePort());
  await mkdirp(dir);
  // lighttpd started as root drops privileges *before* opening its logs: www-data must own them.
  const logs = await mkdirp(path.join(dir, 'logs'), { owner: 'www-data' });
  const uploads = await mkdirp(path.join(dir, 'uploads'), { owner: 'www-data', mode: 0o700 });
  const errorLog = path.join(logs, 'error.log');
  const breakageLog = path.join(logs, 'breakage.log');
  const accessLog = path.join(logs, 'access.log');
  const configFile = path.join(dir, 'lighttpd.conf');
  const base = [
    '# Written by test/e2e/harness/lighttpd.ts',
    `server.modules = ( ${modules.map(q).join(', ')} )`,
    `server.document-root = ${q(docroot)}`,
    'server.bind = "127.0.0.1"',
    `server.port = ${port}`,
    'server.username = "www-data"',
    'server.groupname = "www-data"',
    `server.pid-file = ${q(path.join(dir, 'lighttpd.pid'))}`,
    `server.errorlog = ${q(errorLog)}`,
    // Without it a backend's stderr goes to /dev/null.
    `server.breakagelog = ${q(breakageLog)}`,
    `accesslog.filename = ${q(accessLog)}`,
    `server.upload-dirs = ( ${q(uploads)} )`,
    'server.max-request-size = 102400',
    'index-file.names = ( "index.html" )',
    'mimetype.assign = ( ".html" => "text/html", ".txt" => "text/plain", ".css" => "text/css", ".js" => "text/javascript", ".json" => "application/json", ".png" => "image/png", "" => "application/octet-stream" )',
  ];
  return { bin, dir, port, logs, errorLog, breakageLog, accessLog, configFile, base };
}

export async function startLighttpd(opts: LighttpdOptions): Promise<RunningLighttpd> {
  const p = await prepare(opts.docroot, opts.dir, opts.port, ['mod_access', 'mod_accesslog', 'mod_fastcgi']);
  // Backends are spawned after the privilege drop: their socket folder must be www-data's.
  const socketDir = await mkdirp(path.join(p.dir, 'sock'), { owner: 'www-data' });
  const env = opts.binEnvironment ?? {};
  const backend = [
    '"/" => ((',
    `    "bin-path" => ${q(path.resolve(opts.binPath))},`,
    `    "socket" => ${q(path.join(socketDir, 'fcgi.sock'))},`,
    '    "check-local" => "disable",',
    `    "max-procs" => ${opts.maxProcs ?? 1},`,
    Object.keys(env).length
      ? `    "bin-environment" => ( ${Object.entries(env).map(([k, v]) => `${q(k)} => ${q(v)}`).join(', ')} ),`
      : '',
    opts.fixRootScriptname ? '    "fix-root-scriptname" => "enable",' : '',
    '))',
  ].join('\n');
  const fastcgi = opts.staticPrefix
    ? // (lighttpd 1.4.69 has `=^` but no `!=^`: "invalid character in variable name")
      [`$HTTP["url"] !~ ${q('^' + escapeRe(opts.staticPrefix))} {`, `fastcgi.server = ( ${backend} )`, '}']
    : [`fastcgi.server = ( ${backend} )`];
  const conf = [...p.base, ...fastcgi, opts.extraConfig ?? '', ''].join('\n');
  await writeFile(p.configFile, conf);
  const server = await launch({
    name: 'lighttpd',
    bin: p.bin,
    args: ['-D', '-f', p.configFile],
    dir: p.dir,
    configFile: p.configFile,
    errorLog: p.errorLog,
    port: p.port,
    readyOn: p.port,
    extraDirs: [path.resolve(opts.docroot), path.dirname(path.resolve(opts.binPath))],
  });
  return {
    ...server,
    breakageLog: p.breakageLog,
    accessLog: p.accessLog,
    socketDir,
    graceful: async () => {
      process.kill(server.pid, 'SIGUSR1');
    },
  };
}

/** lighttpd with mod_cgi: files with the given extensions run as CGI scripts. */
export async function startLighttpdCgi(opts: LighttpdCgiOptions): Promise<RunningLighttpd> {
  const modules = ['mod_access', 'mod_accesslog', 'mod_cgi'];
  if (opts.rewriteTo) modules.splice(1, 0, 'mod_rewrite');
  const p = await prepare(opts.docroot, opts.dir, opts.port, modules);
  const exts = opts.cgiExtensions ?? ['.cgi'];
  const lines = [`cgi.assign = ( ${exts.map((e) => `${q(e)} => ""`).join(', ')} )`];
  if (opts.rewriteTo) {
    const target = opts.rewriteTo.replace(/^\/+/, '');
    const esc = escapeRe(target);
    // The pattern sees path and query; "$0" is the whole match, so each pattern must cover it all.
    const keep = [`"^/${esc}([/?].*)?$" => "$0"`];
    if (opts.staticPrefix) keep.push(`${q('^' + escapeRe(opts.staticPrefix) + '.*$')} => "$0"`);
    lines.push(
      `url.rewrite-once = ( ${keep.join(', ')} )`,
      // -if-not-file: existing files are served as they are, like `RewriteCond %{REQUEST_FILENAME} !-f`.
      `url.rewrite-if-not-file = ( "^/(.*)$" => ${q('/' + target + '/$1')} )`,
    );
  }
  const conf = [...p.base, ...lines, opts.extraConfig ?? '', ''].join('\n');
  await writeFile(p.configFile, conf);
  const server = await launch({
    name: 'lighttpd (cgi)',
    bin: p.bin,
    args: ['-D', '-f', p.configFile],
    dir: p.dir,
    configFile: p.configFile,
    errorLog: p.errorLog,
    port: p.port,
    readyOn: p.port,
    extraDirs: [path.resolve(opts.docroot)],
  });
  return {
    ...server,
    breakageLog: p.breakageLog,
    accessLog: p.accessLog,
    socketDir: '',
    graceful: async () => {
      process.kill(server.pid, 'SIGUSR1');
    },
  };
}
