// A plain node CGI script with Express loaded: the app built as bench/apps/express-app.ts builds it,
// then a hand-written CGI reply. The baseline for the stretch target (an Express app's CGI hit
// through dualcgi faster than this).
import express = require('express');

const app = express();
app.disable('x-powered-by');
app.get('*', (_req, res) => {
  res.type('text/plain').send('Hello, World!\n');
});
const body = 'Hello, World!\n';
process.stdout.write(`Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
