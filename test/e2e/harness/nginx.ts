// Start a real nginx (Debian's /usr/sbin/nginx) from its own config on 127.0.0.1.

import * as path from 'node:path';
import { freePort, launch, mkdirp, requireFile, which, writeFile, RunningServer } from './util';

export interface NginxOptions {
  /** `root` of the server (static files; also $document_root for FastCGI). */
  docroot: string;
  /** Where FastCGI requests go: 'unix:/path/to.sock' or '127.0.0.1:9000'. */
  fastcgiPass: string;
  /** `fastcgi_keep_conn on` through an `upstream { keepalive 8; }` block (default true). */
  keepConn?: boolean;
  /**
   * 'stock': Debian's /etc/nginx/fastcgi_params only (SCRIPT_NAME = the URI, no PATH_INFO);
   * 'pathinfo': stock + `fastcgi_param SCRIPT_NAME ""; fastcgi_param PATH_INFO $uri;`;
   * 'php': Debian's /etc/nginx/fastcgi.conf (stock + SCRIPT_FILENAME $document_root$fastcgi_script_name).
   * Default 'pathinfo'.
   */
  params?: 'stock' | 'pathinfo' | 'php';
  /** A location prefix served as static files from docroot, e.g. '/static/'. */
  staticPrefix?: string;
  /** Appended inside `server { }`. */
  extraConfig?: string;
  /** Appended inside the FastCGI `location / { }` (after the params). */
  locationConfig?: string;
  /** Appended inside `http { }`. */
  httpConfig?: string;
  /** error_log level (default 'warn'; 'debug' needs nginx built --with-debug, which Debian's is). */
  logLevel?: string;
  /** Folder for config, logs, temp folders; default `<docroot>/../nginx`. */
  dir?: string;
  port?: number;
}

export interface RunningNginx extends RunningServer {
  accessLog: string;
  /** SIGHUP: re-read config, new workers. */
  reload(): Promise<void>;
}

export async function startNginx(opts: NginxOptions): Promise<RunningNginx> {
  const bin = which('/usr/sbin/nginx', 'nginx');
  const docroot = path.resolve(opts.docroot);
  const dir = path.resolve(opts.dir ?? path.join(path.dirname(docroot), 'nginx'));
  const port = opts.port ?? (await freePort());
  const logs = await mkdirp(path.join(dir, 'logs'));
  const tmp = await mkdirp(path.join(dir, 'tmp'));
  const errorLog = path.join(logs, 'error.log');
  const accessLog = path.join(logs, 'access.log');
  const configFile = path.join(dir, 'nginx.conf');
  const keep = opts.keepConn ?? true;
  const params = opts.params ?? 'pathinfo';

  const paramLines: string[] = [];
  if (params === 'php') {
    paramLines.push(`include ${requireFile('/etc/nginx/fastcgi.conf', 'nginx-common')};`);
  } else {
    paramLines.push(`include ${requireFile('/etc/nginx/fastcgi_params', 'nginx-common')};`);
    if (params === 'pathinfo') paramLines.push('fastcgi_param SCRIPT_NAME "";', 'fastcgi_param PATH_INFO $uri;');
  }

  const upstream = keep ? ['upstream dualcgi_backend {', `    server ${opts.fastcgiPass};`, '    keepalive 8;', '}'] : [];
  const staticLoc = opts.staticPrefix
    ? [`    location ${opts.staticPrefix} {`, '        try_files $uri =404;', '    }']
    : [];

  const conf = [
    '# Written by test/e2e/harness/nginx.ts',
    'daemon off;',
    'master_process on;',
    'user www-data www-data;',
    'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${errorLog} ${opts.logLevel ?? 'warn'};`,
    'events { worker_connections 512; }',
    'http {',
    `    include ${requireFile('/etc/nginx/mime.types', 'nginx-common')};`,
    '    default_type application/octet-stream;',
    `    access_log ${accessLog};`,
    `    client_body_temp_path ${path.join(tmp, 'body')};`,
    `    fastcgi_temp_path ${path.join(tmp, 'fastcgi')};`,
    `    proxy_temp_path ${path.join(tmp, 'proxy')};`,
    `    scgi_temp_path ${path.join(tmp, 'scgi')};`,
    `    uwsgi_temp_path ${path.join(tmp, 'uwsgi')};`,
    '    client_max_body_size 100m;',
    '    sendfile on;',
    ...upstream.map((l) => '    ' + l),
    opts.httpConfig ?? '',
    '    server {',
    `        listen 127.0.0.1:${port};`,
    '        server_name localhost;',
    `        root ${docroot};`,
    ...staticLoc.map((l) => '    ' + l),
    '        location / {',
    ...paramLines.map((l) => '            ' + l),
    keep ? '            fastcgi_pass dualcgi_backend;' : `            fastcgi_pass ${opts.fastcgiPass};`,
    keep ? '            fastcgi_keep_conn on;' : '',
    opts.locationConfig ?? '',
    '        }',
    opts.extraConfig ?? '',
    '    }',
    '}',
    '',
  ].join('\n');
  await writeFile(configFile, conf);

  const server = await launch({
    name: 'nginx',
    bin,
    // -p: prefix for relative paths; -e: the log used before the config is read (default is
    // stderr on Debian's build, /var/log/nginx on others).
    args: ['-p', dir + '/', '-c', configFile, '-e', errorLog],
    dir,
    configFile,
    errorLog,
    port,
    readyOn: port,
  });
  return {
    ...server,
    accessLog,
    reload: async () => {
      process.kill(server.pid, 'SIGHUP');
    },
  };
}
