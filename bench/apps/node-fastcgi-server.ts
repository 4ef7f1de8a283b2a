// The node-fastcgi peer (npm node-fastcgi 2.0.0): an app module served over FastCGI on a Unix
// socket. It ignores FCGI_KEEP_CONN and closes every connection after one request.
// Usage: node node-fastcgi-server.js APP SOCKET
import { chmodSync, rmSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import type { Server } from 'node:net';

/** NodeFastcgi: the part of node-fastcgi used here (it ships no types). */
interface NodeFastcgi {
  createServer(responder: RequestListener): Server;
}

const [appPath, socket] = process.argv.slice(2);
if (!appPath || !socket) {
  process.stderr.write('usage: node node-fastcgi-server.js APP SOCKET\n');
  process.exit(2);
}
const fcgi = require('node-fastcgi') as NodeFastcgi;
const app = require(appPath) as RequestListener;
rmSync(socket, { force: true });
const server = fcgi.createServer(app);
server.listen(socket, () => chmodSync(socket, 0o666));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
