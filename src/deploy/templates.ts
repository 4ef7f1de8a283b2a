import { basename, join } from 'node:path';

/** ServerKind: the setups `dualcgi init` writes for. */
export type ServerKind = 'apache-fcgid' | 'apache-cgi' | 'nginx' | 'lighttpd';

export const SERVER_KINDS: readonly ServerKind[] = ['apache-fcgid', 'apache-cgi', 'nginx', 'lighttpd'];

/** DeployPlan: everything the templates need, normalised once (all paths absolute except `app`). */
export interface DeployPlan {
  server: ServerKind;
  /** dir: the folder the entry script goes into (the docroot for Apache). */
  dir: string;
  /** app: as written into the entry script: `./app.js` inside dir, else absolute. */
  app: string;
  /** appPath: absolute. */
  appPath: string;
  /** node: the interpreter for the shebang (absolute). */
  node: string;
  /** dualcgi: the dualcgi package folder, required by absolute path. */
  dualcgi: string;
  /** bind: the socket nginx / lighttpd / spawn-fcgi / systemd use (unix:/path). */
  bind: string;
  /** user: who the web server runs the app as. */
  user: string;
}

/** RESTART_FILE: relative to the entry script; `touch` it after a deploy. */
export const RESTART_FILE = 'tmp/restart.txt';

/** scriptName: dispatch.cgi for mod_cgi, dispatch.fcgi everywhere else. */
export function scriptName(server: ServerKind): string {
  return server === 'apache-cgi' ? 'dispatch.cgi' : 'dispatch.fcgi';
}

/** appName: a short name for sockets and units: the folder's name. */
export function appName(plan: DeployPlan): string {
  return basename(plan.dir).replace(/[^A-Za-z0-9_.-]/g, '_') || 'app';
}

/** defaultBind: a socket under /run that a systemd RuntimeDirectory (or lighttpd's own) provides. */
export function defaultBind(server: ServerKind, name: string): string {
  return server === 'lighttpd' ? `unix:/run/lighttpd/dualcgi-${name}.sock` : `unix:/run/dualcgi-${name}/app.sock`;
}

function socketPath(plan: DeployPlan): string {
  return plan.bind.startsWith('unix:') ? plan.bind.slice(5) : plan.bind;
}

/**
 * dispatchScript: the entry script. The shebang names node by absolute path (a web server's PATH
 * does not see nvm or a project-local node; lighttpd mod_cgi gives none at all) and dualcgi is
 * required by absolute path (the server's cwd and module paths are not the deployer's).
 */
export function dispatchScript(plan: DeployPlan): string {
  return [
    `#!${plan.node}`,
    '// Written by `dualcgi init`. Started by the web server: with a listening socket on fd 0 it serves',
    '// FastCGI; renamed to dispatch.cgi (or started with GATEWAY_INTERFACE set) it answers one CGI request.',
    `// Reload after a deploy: touch ${RESTART_FILE} (next to this script). Check it: dualcgi doctor.`,
    `require(${JSON.stringify(plan.dualcgi)}).dispatch({`,
    `  app: ${JSON.stringify(plan.app)},`,
    `  restartFile: ${JSON.stringify(RESTART_FILE)},`,
    '});',
    '',
  ].join('\n');
}

/** htaccess: the classic rules (the seed's), with the static passthrough and CGIPassAuth. */
export function htaccess(plan: DeployPlan): string {
  const script = scriptName(plan.server);
  const fcgid = plan.server === 'apache-fcgid';
  const escaped = script.replace('.', '\\.');
  return [
    `# Written by \`dualcgi init\` for Apache + ${fcgid ? 'mod_fcgid' : 'mod_cgi'} + mod_rewrite.`,
    '# The vhost must allow it: AllowOverride All (FileInfo, Options, AuthConfig) on this folder.',
    'Options +ExecCGI +FollowSymLinks',
    fcgid ? 'AddHandler fcgid-script .fcgi' : 'AddHandler cgi-script .cgi',
    '# Without this Apache drops the Authorization header before the app (Apache 2.4.13+).',
    'CGIPassAuth On',
    'RewriteEngine On',
    '# Static files: served by Apache, never by the app.',
    'RewriteRule ^(static/.*)$ - [L]',
    '# The script itself (/dispatch.fcgi/...): left alone, else the next rule would loop.',
    `RewriteRule ^(${escaped}/.*)$ - [L]`,
    '# Everything else goes to the app, which routes on the path the browser asked for.',
    '# B=%?#: an encoded %, ? or # in the path stays encoded (else Apache answers 400 for %25,',
    '# 403 for %3F, and cuts the path at %23). Apache 2.4.26+.',
    `RewriteRule ^(.*)$ ${script}/$1 [L,B=%?#]`,
    '',
  ].join('\n');
}

/** apacheNotes: what the server config must provide (an .htaccess cannot load modules). */
export function apacheNotes(plan: DeployPlan): string {
  const fcgid = plan.server === 'apache-fcgid';
  return [
    `# Apache: in the vhost (an .htaccess cannot load modules):`,
    `#   a2enmod rewrite ${fcgid ? 'fcgid' : 'cgi'}`,
    `#   <Directory ${plan.dir}>`,
    '#       AllowOverride All',
    '#       Require all granted',
    '#   </Directory>',
    ...(fcgid ? [
      '#   FcgidMaxRequestsPerProcess 1000   # mod_fcgid recycles processes itself: prefer it to --max-requests',
      `# Reload the code: touch ${join(plan.dir, RESTART_FILE)}   (touching dispatch.fcgi does nothing under mod_fcgid)`,
    ] : ['# mod_cgi starts a fresh process per request: new code is live at once.']),
    '',
  ].join('\n');
}

/** nginxSnippet: an upstream and a server block for sites-available; nginx does not start the app. */
export function nginxSnippet(plan: DeployPlan): string {
  const name = appName(plan);
  return [
    `# nginx: /etc/nginx/sites-available/${name}. The app runs as \`dualcgi serve\` (systemd unit below).`,
    `upstream dualcgi_${name.replace(/[^A-Za-z0-9_]/g, '_')} {`,
    `    server ${plan.bind};`,
    '    keepalive 8;',
    '}',
    'server {',
    '    listen 80;',
    '    server_name example.com;',
    `    root ${plan.dir};`,
    '    location /static/ {',
    '        try_files $uri =404;',
    '    }',
    '    location / {',
    '        include fastcgi_params;',
    '        # The app routes on PATH_INFO; no script name in its URLs.',
    '        fastcgi_param SCRIPT_NAME "";',
    '        fastcgi_param PATH_INFO $uri;',
    '        # httpoxy: a client\'s "Proxy:" header must not become HTTP_PROXY.',
    '        fastcgi_param HTTP_PROXY "";',
    `        fastcgi_pass dualcgi_${name.replace(/[^A-Za-z0-9_]/g, '_')};`,
    '        fastcgi_keep_conn on;',
    '    }',
    '}',
    '',
  ].join('\n');
}

/** lighttpdSnippet: lighttpd starts dispatch.fcgi itself (bin-path) and restarts it if it dies. */
export function lighttpdSnippet(plan: DeployPlan): string {
  return [
    '# lighttpd: conf-available/50-dualcgi.conf. lighttpd starts dispatch.fcgi (bin-path) as its user.',
    'server.modules += ( "mod_fastcgi" )',
    '# The app\'s stderr goes nowhere unless a breakage log is set.',
    '# server.breakagelog = "/var/log/lighttpd/breakage.log"',
    '$HTTP["url"] !~ "^/static/" {',
    '    fastcgi.server = ( "/" => ((',
    `        "bin-path" => "${join(plan.dir, scriptName(plan.server))}",`,
    `        "socket" => "${socketPath(plan)}",`,
    '        "check-local" => "disable",',
    '        # SCRIPT_NAME "" and PATH_INFO the whole path, as the app expects.',
    '        "fix-root-scriptname" => "enable",',
    '        "max-procs" => 1,',
    '    )))',
    '}',
    '',
  ].join('\n');
}

/** systemdUnit: `dualcgi serve` as a service; `systemctl reload` is a graceful reload (SIGHUP). */
export function systemdUnit(plan: DeployPlan): string {
  const name = appName(plan);
  const sock = socketPath(plan);
  const runtime = sock.startsWith('/run/') ? sock.slice(5).split('/')[0] : undefined;
  return [
    `# systemd: /etc/systemd/system/dualcgi-${name}.service`,
    '[Unit]',
    `Description=dualcgi FastCGI backend for ${plan.dir}`,
    'After=network.target',
    '',
    '[Service]',
    `User=${plan.user}`,
    `Group=${plan.user}`,
    ...(runtime ? [`RuntimeDirectory=${runtime}`] : []),
    `ExecStart=${plan.node} ${join(plan.dualcgi, 'bin', 'dualcgi')} serve --bind ${plan.bind} --socket-mode 660 ` +
      `--restart-file ${join(plan.dir, RESTART_FILE)} ${plan.appPath}`,
    '# SIGHUP: new workers take over the socket, the old ones finish their requests.',
    'ExecReload=/bin/kill -HUP $MAINPID',
    '# SIGTERM to the main process only: it drains its workers itself.',
    'KillMode=mixed',
    'TimeoutStopSec=40',
    'Restart=on-failure',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** spawnFcgiLine: without systemd; -n keeps the app's stderr (spawn-fcgi's fork points it at /dev/null). */
export function spawnFcgiLine(plan: DeployPlan): string {
  return [
    '# spawn-fcgi (instead of the unit): dispatch.fcgi gets the listening socket on fd 0.',
    `spawn-fcgi -n -s ${socketPath(plan)} -M 0660 -u ${plan.user} -g ${plan.user} -- ${join(plan.dir, scriptName(plan.server))}`,
    '',
  ].join('\n');
}

/** snippets: what init prints for the chosen server. */
export function snippets(plan: DeployPlan): string[] {
  switch (plan.server) {
    case 'apache-fcgid':
    case 'apache-cgi':
      return [apacheNotes(plan)];
    case 'nginx':
      return [nginxSnippet(plan), systemdUnit(plan), spawnFcgiLine(plan)];
    case 'lighttpd':
      return [lighttpdSnippet(plan)];
  }
}
