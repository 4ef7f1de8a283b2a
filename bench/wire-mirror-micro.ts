// wire-mirror-micro: the wire mirror's work for one traced hello request, alone: the frames a
// FastCGI connection appends for it (BEGIN_REQUEST, PARAMS and its end, the PARAMS stream as a
// DELTA, STDIN's end, the response's STDOUT with its head, the empty STDOUT, END_REQUEST, and the
// TIME frames of a read and an output turn) and the base64 of a wire line every ~40 KiB, as the
// socket sink takes them. Prints ns per request for each of ROUNDS rounds (bench/README.md, trace,
// "Eighth session"). ROOT: a checkout whose dist/ is loaded instead of this one (to compare two builds).
//
//   node dist/bench/wire-mirror-micro.js [REQUESTS_PER_ROUND] [ROUNDS] [ROOT]
import { resolve } from 'node:path';
import { NGINX_GET_PARAMS } from './lib/nginx-params';
import type { ParamNames, WireMirror as Mirror } from '../src/trace/wire-mirror';

const [perRoundArg = '1000000', roundsArg = '5', rootArg] = process.argv.slice(2);
const root = resolve(rootArg ?? resolve(__dirname, '..', '..'));
const { WireMirror } = require(`${root}/dist/src/trace/wire-mirror`) as { WireMirror: new () => Mirror };
const { encodePairs, RecordType } = require(`${root}/dist/src/protocol`) as typeof import('../src/protocol');
const { decodeParamList } = require(`${root}/dist/src/fastcgi/param-list`) as typeof import('../src/fastcgi/param-list');
const { DEFAULT_LIMITS } = require(`${root}/dist/src/fastcgi/limits`) as typeof import('../src/fastcgi/limits');

// nginx's params for `GET /` (bench/lib/nginx-params.ts), REMOTE_PORT changing from one request to the next.
const NGINX = NGINX_GET_PARAMS;
const streams: Array<{ bytes: Buffer; list: ParamNames }> = [];
for (let i = 0; i < 64; i++) {
  const bytes = encodePairs(NGINX.map(([n, v]): [string, string] => [n, n === 'REMOTE_PORT' ? String(40000 + i * 7) : v]));
  // As the connection hands it over: a view at an odd offset of a larger read.
  const read = Buffer.alloc(bytes.length + 64);
  bytes.copy(read, 13);
  streams.push({ bytes: read.subarray(13, 13 + bytes.length), list: decodeParamList(bytes, DEFAULT_LIMITS) });
}
const BEGIN = Buffer.from([0, 1, 1, 0, 0, 0, 0, 0]);
const EMPTY = Buffer.alloc(0);
const RESPONSE = Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: Thu, 26 Nov 2026 09:00:00 GMT\r\n'
  + 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nHello, world\n', 'latin1');
// Each connection writes into a slab of its own.
const slabs = Array.from({ length: 32 }, () => {
  const slab = Buffer.allocUnsafeSlow(65536);
  RESPONSE.copy(slab, 1000);
  return slab;
});
const END = Buffer.alloc(64);
END[1] = 3;

const mirror = new WireMirror();
let base64Bytes = 0;
mirror.onFull = (): void => {
  base64Bytes += mirror.take().length;
};

function request(i: number, conn: number): void {
  const { bytes, list } = streams[i & 63]!;
  mirror.startRead();
  mirror.recordIn(conn, i, RecordType.BeginRequest, 1, 8, 0, BEGIN, false);
  mirror.recordIn(conn, i, RecordType.Params, 1, bytes.length, 0, bytes, false);
  mirror.recordIn(conn, i, RecordType.Params, 1, 0, 0, EMPTY, false);
  mirror.params(conn, i, 1, bytes, list);
  mirror.recordIn(conn, i, RecordType.Stdin, 1, 0, 0, EMPTY, false);
  mirror.tick();
  mirror.recordOut(conn, i, RecordType.Stdout, 1, RESPONSE.length, 3, slabs[conn]!, 1000, { wireHead: 0 });
  mirror.recordOut(conn, i, RecordType.Stdout, 1, 0, 0, END, 8, null);
  mirror.recordOut(conn, i, RecordType.EndRequest, 1, 8, 0, END, 16, null);
}

const perRound = Number(perRoundArg);
for (let r = 0; r < Number(roundsArg); r++) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < perRound; i++) request(i, i & 31);
  const ns = Number(process.hrtime.bigint() - started) / perRound;
  process.stdout.write(`${JSON.stringify({ round: r, nsPerRequest: +ns.toFixed(1), base64PerRequest: Math.round(base64Bytes / ((r + 1) * perRound)) })}\n`);
}
