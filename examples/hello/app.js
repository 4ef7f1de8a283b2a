'use strict';
// The example app: a plain (req, res) listener, no framework, so the demo needs nothing but dualcgi.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

function version() {
  try {
    return readFileSync(join(__dirname, 'VERSION'), 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

module.exports = function app(req, res) {
  const url = new URL(req.url, 'http://x');
  const info = req.dualcgi;
  if (url.pathname === '/boom') throw new Error('boom: the example handler crashed on purpose');
  if (url.pathname === '/echo') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.end(body);
    });
    return;
  }
  req.log.info({ path: url.pathname }, 'hello handled');
  const body = JSON.stringify({
    hello: 'world',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    mode: info.mode,
    mountPoint: info.mountPoint,
    pid: process.pid,
    version: version(),
  }, null, 2) + '\n';
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
  res.end(body);
};
