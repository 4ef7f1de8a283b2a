// The one nginx in front of every backend: a server block (own port) per backend, FastCGI over a
// Unix socket with fastcgi_keep_conn on and an upstream keepalive pool, or proxy_pass over HTTP/1.1
// with the same pool. Settings that would make nginx, not the backend, the bottleneck are set
// the same for all: no access log, buffers large enough that 64 KiB replies and 1 MiB bodies
// stay in memory, and no per-connection request limits.
import * as path from 'node:path';
import { freePort, launch, mkdirp, requireFile, which, writeFile, type RunningServer } from '../../test/e2e/harness/util';
import { onCleanup } from './cleanup';

/** Upstream: one backend behind its own nginx server block. */
export interface Upstream {
  name: string;
  /** 'fastcgi' (fastcgi_pass) or 'http' (proxy_pass). */
  kind: 'fastcgi' | 'http';
  /** 'unix:/path.sock' or '127.0.0.1:port'. */
  address: string;
  /** keepConn: fastcgi_keep_conn on (default true; php-fpm with one worker needs false, see backends.ts). */
  keepConn?: boolean;
  /** scriptFilename: SCRIPT_FILENAME for php-fpm. */
  scriptFilename?: string;
  /** stream: no request buffering and no temp files, so gigabyte streams pass through (memory suite). */
  stream?: boolean;
}

/** Front: the running nginx and the port of each upstream's server block. */
export interface Front {
  server: RunningServer;
  ports: Map<string, number>;
  url(name: string, pathAndQuery: string): string;
}

/** KEEPALIVE: idle upstream connections kept per worker: above wrk's 32 so none is ever closed. */
const KEEPALIVE = 64;

function upstreamName(u: Upstream): string {
  return `b_${u.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function locationLines(u: Upstream): string[] {
  const name = upstreamName(u);
  const keep = u.keepConn ?? true;
  if (u.kind === 'http') {
    const lines = [`proxy_pass http://${name};`, 'proxy_http_version 1.1;', 'proxy_set_header Connection "";'];
    if (u.stream) lines.push('proxy_request_buffering off;', 'proxy_max_temp_file_size 0;');
    return lines;
  }
  const lines = [`include ${requireFile('/etc/nginx/fastcgi_params', 'nginx-common')};`];
  if (u.scriptFilename !== undefined) lines.push(`fastcgi_param SCRIPT_FILENAME ${u.scriptFilename};`);
  else lines.push('fastcgi_param SCRIPT_NAME "";', 'fastcgi_param PATH_INFO $uri;');
  lines.push(`fastcgi_pass ${name};`, `fastcgi_keep_conn ${keep ? 'on' : 'off'};`);
  if (u.stream) lines.push('fastcgi_request_buffering off;', 'fastcgi_max_temp_file_size 0;');
  return lines;
}

function serverBlock(u: Upstream, port: number): string[] {
  const keep = u.kind === 'http' || (u.keepConn ?? true);
  return [
    `upstream ${upstreamName(u)} {`,
    `    server ${u.address};`,
    ...(keep ? [`    keepalive ${KEEPALIVE};`, '    keepalive_requests 1000000;', '    keepalive_timeout 300s;'] : []),
    '}',
    'server {',
    `    listen 127.0.0.1:${port};`,
    ...(u.stream ? ['    client_max_body_size 0;'] : []),
    '    location / {',
    ...locationLines(u).map((l) => `        ${l}`),
    '    }',
    '}',
  ];
}

/** startFront: nginx (one worker, like the backends' one core) in `<world>/nginx`, stopped on cleanup. */
export async function startFront(world: string, upstreams: Upstream[]): Promise<Front> {
  const dir = await mkdirp(path.join(world, 'nginx'));
  const tmp = await mkdirp(path.join(dir, 'tmp'));
  const errorLog = path.join(dir, 'error.log');
  const configFile = path.join(dir, 'nginx.conf');
  const ports = new Map<string, number>();
  for (const u of upstreams) ports.set(u.name, await freePort());
  const conf = [
    '# Written by bench/lib/front.ts',
    'daemon off;', 'master_process on;', 'user www-data www-data;', 'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`, `error_log ${errorLog} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '    default_type application/octet-stream;',
    '    access_log off;',
    '    keepalive_requests 1000000;',
    '    client_max_body_size 8m;',
    '    client_body_buffer_size 2m;',
    '    fastcgi_buffer_size 16k;', '    fastcgi_buffers 16 16k;',
    '    proxy_buffer_size 16k;', '    proxy_buffers 16 16k;',
    ...['client_body', 'fastcgi', 'proxy', 'scgi', 'uwsgi'].map((t) => `    ${t}_temp_path ${path.join(tmp, t)};`),
    ...upstreams.flatMap((u) => serverBlock(u, ports.get(u.name)!).map((l) => `    ${l}`)),
    '}',
    '',
  ].join('\n');
  await writeFile(configFile, conf);
  const server = await launch({
    name: 'nginx', bin: which('/usr/sbin/nginx', 'nginx'),
    args: ['-p', dir + '/', '-c', configFile, '-e', errorLog],
    dir, configFile, errorLog, port: ports.get(upstreams[0]!.name)!, readyOn: ports.get(upstreams[0]!.name)!,
  });
  const off = onCleanup('nginx', () => server.stop());
  const stop = server.stop;
  server.stop = async () => {
    off();
    await stop();
  };
  return { server, ports, url: (name, p) => `http://127.0.0.1:${ports.get(name)}${p}` };
}
