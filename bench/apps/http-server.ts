// The node:http peer: an app module (hello.ts or express-app.ts) served over HTTP/1.1 on a Unix
// socket, for nginx proxy_pass with an upstream keepalive pool.
// Usage: node http-server.js APP SOCKET
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';

const [appPath, socket] = process.argv.slice(2);
if (!appPath || !socket) {
  process.stderr.write('usage: node http-server.js APP SOCKET\n');
  process.exit(2);
}
const app = require(appPath) as RequestListener;
rmSync(socket, { force: true });
const server = createServer(app);
// nginx's upstream pool reuses connections for many requests: do not time them out mid-run.
server.keepAliveTimeout = 120_000;
server.listen(socket, () => chmodSync(socket, 0o666));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
