// The benchmark app: one plain (req, res) listener that dualcgi, node-fastcgi and node:http all
// serve, with the same routes and bytes as bench/go/hello.go and bench/php/hello.php.
//   /          "Hello, World!\n" (text/plain, Content-Length)
//   /64k       64 KiB of 'x'
//   /post      reads the request body, answers "received N\n"
//   /download  ?bytes=N streamed in 64 KiB writes with backpressure (memory suite)
import type { IncomingMessage, ServerResponse } from 'node:http';

const HELLO = Buffer.from('Hello, World!\n');
const BLOCK = Buffer.alloc(65536, 'x');

/** download: `bytes` of 'x', one 64 KiB write at a time, waiting for 'drain' when asked to. */
function download(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) });
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, BLOCK.length);
      left -= n;
      const ok = res.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n));
      if (!ok) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** hello: the request listener (module.exports, so every server loads it the same way). */
function hello(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === '/64k') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(BLOCK.length) });
    res.end(BLOCK);
  } else if (path === '/post' || path === '/upload') {
    let n = 0;
    req.on('data', (chunk: Buffer) => {
      n += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`received ${n}\n`);
    });
  } else if (path === '/download') {
    const bytes = Number(new URLSearchParams(url.slice(q + 1)).get('bytes') ?? '0');
    download(res, Number.isFinite(bytes) && bytes > 0 ? bytes : 0);
  } else {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(HELLO.length) });
    res.end(HELLO);
  }
}

export = hello;
