// A plain node CGI script doing the work of examples/hello/app.js for `GET /hello?x=1`, with no
// harness: parse the URL, read VERSION, build the same JSON body and headers, and write the same
// kind of log line to stderr (hand-written JSON where the app calls req.log.info). The fair peer
// of "dispatch.cgi (examples/hello)": the difference between the two is what dualcgi costs,
// req.log's logger included.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function version(): string {
  try {
    return readFileSync(join(__dirname, '..', '..', '..', 'examples', 'hello', 'VERSION'), 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

const env = process.env;
const path = env['PATH_INFO'] || '/';
const url = new URL(`${path}${env['QUERY_STRING'] ? `?${env['QUERY_STRING']}` : ''}`, 'http://x');
process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, mode: 'cgi', path: url.pathname, msg: 'hello handled' })}\n`);
const body = JSON.stringify({
  hello: 'world',
  path: url.pathname,
  query: Object.fromEntries(url.searchParams),
  mode: 'cgi',
  mountPoint: '',
  pid: process.pid,
  version: version(),
}, null, 2) + '\n';
process.stdout.write(`Status: 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Path=/\r\n`
  + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
