import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cgiRequest, fcgiRequest, ndjson, processStart, sendLines, waitFor } from './fixtures';

/**
 * The dashboard in a real terminal: tmux runs `bin/dualcgi dashboard`, the test sends trace events
 * to its socket, reads the screen with capture-pane and drives it with send-keys.
 */

const tmuxMissing = spawnSync('tmux', ['-V']).status !== 0;
const repo = resolve(__dirname, '..', '..', '..');
const server = `dualcgi-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
}

let session = 'dash';

function screen(): string {
  return tmux('capture-pane', '-p', '-t', session);
}

/** shows: wait until the screen matches, and return it (the last screen in the error otherwise). */
async function shows(pattern: RegExp, what: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(() => {
      last = screen();
      return pattern.test(last) ? last : undefined;
    }, what, 10_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- screen ---\n${last}`);
  }
}

function keys(...k: string[]): void {
  tmux('send-keys', '-t', session, ...k);
}

/** startDashboard: a tmux session running the dashboard on `sock`; it says how it exited. */
function startDashboard(name: string, sock: string, size: [number, number]): void {
  session = name;
  const command = `node ${JSON.stringify(join(repo, 'bin', 'dualcgi'))} dashboard --listen unix:${sock}; echo "dashboard exited $?"; sleep 60`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(size[0]), '-y', String(size[1]), '-e', 'LANG=C.UTF-8', command);
}

/** dualcgi: run the CLI (for `request`), returning its stdout. */
function dualcgi(...args: string[]): string {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'dualcgi'), ...args], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return `exit ${r.status} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`;
  return r.stdout;
}

/** cgiScript: a dispatch.cgi for the fixture app that traces to `sock` via .dualcgi-trace. */
function cgiScript(dir: string, sock: string): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(repo, 'test', 'dashboard', 'fixtures', 'app.js'), join(dir, 'app.js'));
  const script = join(dir, 'dispatch.cgi');
  writeFileSync(script, `#!${process.execPath}\nrequire(${JSON.stringify(join(repo, 'dist', 'src'))}).dispatch({ app: ${JSON.stringify(join(dir, 'app.js'))} });\n`);
  chmodSync(script, 0o755);
  writeFileSync(join(dir, '.dualcgi-trace'), `unix:${sock}\n`);
  return script;
}

/** listRows: the request list's lines (below the header and its title bar, above the detail). */
function listRows(text: string): string[] {
  const lines = text.split('\n');
  const title = lines.findIndex((l) => /TIME +PID MODE METHOD/.test(l));
  return lines.slice(title + 1, title + 13);
}

/** sendTraffic: what dispatch() would publish for four requests, one of them CGI, one crashing. */
async function sendTraffic(sock: string): Promise<void> {
  await waitFor(() => existsSync(sock), 'the socket');
  await sendLines(sock, ndjson([
    processStart(4242, 'fcgi'),
    ...fcgiRequest({ n: 1, requestId: 1 }),
    ...fcgiRequest({ n: 2, requestId: 2, method: 'POST', body: 'name=ann&role=admin' }),
    ...cgiRequest({ pid: 9001, uri: '/cgi/hit' }),
    ...fcgiRequest({ n: 4, requestId: 1, uri: '/boom', crash: true }),
  ]));
}

describe('dashboard in tmux', { skip: tmuxMissing ? 'tmux is not installed (apt-get install tmux)' : false }, () => {
  let dir = '';
  let sock = '';

  let served: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dualcgi-tmux-'));
    sock = join(dir, 'trace.sock');
  });

  after(() => {
    served?.kill();
    spawnSync('tmux', ['-L', server, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows requests, the timeline, app logs and a crash; filters, selects, opens a record, quits', async () => {
    startDashboard('events', sock, [120, 40]);
    await shows(/DUALCGI_TRACE=unix:.*trace\.sock/, 'the header with the listen address');
    await sendTraffic(sock);

    // The newest request (the crash) is selected: its error stack and its record timeline show.
    let text = await shows(/GET +! \/boom +500/, 'the crashing request row');
    assert.match(text, /4242 fcgi GET +\/items\/1\?page=2 +200 +12ms +1\.2kB/);
    assert.match(text, /9001 cgi +GET +\/cgi\/hit +200/);
    assert.match(text, /Error: boom: database unreachable\n +at handler \(\/srv\/app\/app\.js:12:11\)/);
    for (const type of ['BEGIN_REQUEST', 'PARAMS', 'STDIN', 'STDOUT', 'END_REQUEST']) assert.match(text, new RegExp(`[→←] (in|out) +${type} +id=1 `), type);
    assert.match(text, /INFO \(4242\): loaded item 4 \{"rid":"4242-4","user":"ann"\}/, 'an app log line in the log pane');
    assert.match(text, /last min 4 req/);

    // `/cgi` + Enter: only the CGI hit is left.
    keys('/');
    keys('-l', 'cgi');
    keys('Enter');
    text = await shows(/\| \/cgi \| 1\/4/, 'the filter in the footer');
    const rows = listRows(text).filter((l) => l.trim() !== '');
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0]!, /9001 cgi +GET +\/cgi\/hit/);
    assert.match(text, /records: none: CGI passes/);

    // Esc clears the filter; two Ups select the POST; Enter opens its timeline; the body's bytes.
    keys('Escape');
    await shows(/follow \| 4\/4$/m, 'the filter cleared');
    keys('Up', 'Up');
    text = await shows(/POST \/items\/2\?page=2 +4242-2/, 'the POST selected');
    assert.match(text, /STDIN +id=2 len=19 pad=5 +"name=ann&role=admin"/);
    keys('Enter');
    keys('Down', 'Down', 'Down');
    keys('Enter');
    text = await shows(/▸ hex/, 'the record popup');
    assert.match(text, /name=ann&role=admin/);
    assert.match(text, /6e 61 6d 65 3d 61 6e 6e/);
    keys('Escape');
    await waitFor(() => !screen().includes('▸ hex'), 'the popup to close');

    keys('q');
    await shows(/dashboard exited 0/, 'the dashboard to exit');
    assert.equal(existsSync(sock), false, 'the socket file is removed on quit');
  });

  it('shows real traffic: a FastCGI server and CGI hits, each CGI hit its own pid', async () => {
    const live = join(dir, 'live.sock');
    const appSock = join(dir, 'app.sock');
    startDashboard('live', live, [120, 40]);
    await shows(/DUALCGI_TRACE=unix:.*live\.sock/, 'the dashboard');
    served = spawn(process.execPath, [join(repo, 'bin', 'dualcgi'), 'serve', '--bind', `unix:${appSock}`, join(repo, 'test', 'dashboard', 'fixtures', 'app.js')], {
      env: { ...process.env, DUALCGI_TRACE: `unix:${live}`, DUALCGI_SHOW_SECRETS: '1' }, stdio: 'ignore',
    });
    await waitFor(() => existsSync(appSock), 'the FastCGI server');
    assert.match(dualcgi('request', `unix:${appSock}`, '-X', 'POST', '-d', 'name=ann', '/echo'), /you sent 8 bytes to \/echo/);
    dualcgi('request', `unix:${appSock}`, '/boom');
    const script = cgiScript(join(dir, 'cgi'), live);
    for (const n of [1, 2]) assert.match(dualcgi('request', script, `/cgi/${n}`), new RegExp(`to /cgi/${n}`));

    let text = await shows(/cgi +GET +\/cgi\/2 +200/, 'the second CGI hit');
    assert.match(text, new RegExp(`${served.pid} fcgi POST +/echo +200`));
    assert.match(text, new RegExp(`${served.pid} fcgi GET +! /boom +500`));
    const cgiPids = [...text.matchAll(/(\d+) cgi +GET +\/cgi\/\d/g)].map((m) => m[1]);
    assert.equal(new Set(cgiPids).size, 2, `each CGI hit has its own pid: ${cgiPids.join(' ')}`);
    assert.match(text, /INFO \(\d+\): fixture handled \{"rid":"\d+-1".*"path":"\/cgi\/2"\}/, 'the CGI app log');

    keys('/');
    keys('-l', 'POST');
    keys('Enter');
    text = await shows(/POST \/echo +\d+-\d+\n/, 'the POST selected by the filter');
    for (const type of ['BEGIN_REQUEST', 'PARAMS', 'STDIN', 'STDOUT', 'END_REQUEST']) assert.match(text, new RegExp(`[→←] (in|out) +${type} +id=1 `), type);
    assert.match(text, /STDIN +id=1 len=8 pad=0 +"name=ann"/);
    keys('/');
    keys('-l', 'boom');
    keys('Enter');
    text = await shows(/Error: boom: the fixture app crashed on purpose\n +at app /, 'the crash and its stack');
    keys('q');
    await shows(/dashboard exited 0/, 'the dashboard to exit');
  });
});
