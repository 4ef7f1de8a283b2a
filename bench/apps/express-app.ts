// The Express workload: a hello route through Express's router and response helpers, served by
// dualcgi and by node:http (bench/apps/http-server.ts) behind the same nginx.
import express = require('express');

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.get('*', (_req, res) => {
  res.type('text/plain').send('Hello, World!\n');
});

export = app;
