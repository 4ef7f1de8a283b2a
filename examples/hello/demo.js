#!/usr/bin/env node
'use strict';
// The demo: the example app served through the real dispatch path — dispatch.fcgi launched as
// mod_fcgid does (a listening socket on fd 0), dispatch.cgi run as Apache's mod_cgi does (CGI
// environment + stdin, a fresh process per hit) — with every trace event printed as it arrives.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const dist = join(__dirname, '..', '..', 'dist', 'src');
const { launchFastCGIScript, runCgiScript } = require(join(dist, 'client', 'launch'));
const { FastCGIClientConnection } = require(join(dist, 'client', 'fastcgi-client'));
const { buildCgiParams } = require(join(dist, 'client', 'params'));
const { parseCgiResponse } = require(join(dist, 'client', 'cgi-response'));
const { listenForTraces } = require(join(dist, 'trace', 'listener'));
// The same lines as `dualcgi tail -v`: records, requests, app logs, errors.
const { createTailFormatter } = require(join(dist, 'dashboard', 'tail'));

const color = process.stdout.isTTY;
const bold = (s) => (color ? `\x1b[1m${s}\x1b[0m` : s);

function printResponse(title, stdout) {
  const r = parseCgiResponse(stdout);
  console.log(bold(`\n=== ${title} -> ${r.status} ${r.statusText}`));
  for (const [n, v] of r.headers) console.log(`${n}: ${v}`);
  console.log('');
  console.log(r.body.toString('utf8').trimEnd());
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-demo-'));
  const traceSocket = join(dir, 'trace.sock');
  const lines = [];
  const format = createTailFormatter({ verbose: true, colorize: color });
  const server = await listenForTraces(traceSocket, (item) => {
    const text = format(item);
    if (text) lines.push(text.trimEnd());
  });
  const flushTrace = async () => {
    await new Promise((r) => setTimeout(r, 150));
    if (lines.length) console.log(lines.splice(0).map((l) => `  ${l}`).join('\n'));
  };
  const env = { DUALCGI_TRACE: `unix:${traceSocket}` };
  try {
    await run(env, flushTrace);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(bold('\nNext: `npx dualcgi dashboard` in one terminal, `dualcgi dev examples/hello` in another (see README).'));
}

async function run(env, flushTrace) {

  console.log(bold('FastCGI: examples/hello/dispatch.fcgi, launched with a listening socket on fd 0 (as mod_fcgid does)'));
  const fcgi = await launchFastCGIScript(join(__dirname, 'dispatch.fcgi'), { env });
  try {
    const conn = await FastCGIClientConnection.connect(fcgi.address);
    for (const [method, target, body] of [['GET', '/foo/bar?x=1'], ['POST', '/echo', 'hello body'], ['GET', '/boom']]) {
      const buf = body === undefined ? undefined : Buffer.from(body);
      const params = buildCgiParams({ method, target, bodyLength: buf ? buf.length : 0, headers: buf ? [['Content-Type', 'text/plain']] : [] });
      const resp = await conn.request({ params, body: buf, keepConn: true });
      printResponse(`${method} ${target} (FastCGI, pid kept)`, resp.stdout);
      await flushTrace();
    }
    conn.close();
  } finally {
    await fcgi.stop();
  }

  console.log(bold('\nCGI: examples/hello/dispatch.cgi, run with a CGI environment (as mod_cgi does): a fresh process per hit'));
  for (let i = 1; i <= 2; i++) {
    const params = buildCgiParams({ target: '/foo/bar?x=1', mode: 'cgi' });
    const r = await runCgiScript(join(__dirname, 'dispatch.cgi'), { env: [...params, ...Object.entries(env)] });
    printResponse(`GET /foo/bar?x=1 (CGI hit ${i})`, r.stdout);
    await flushTrace();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
