// One codec variant, timed in a fresh process (no JIT state shared between variants): prints one
// JSON line {"ops": N, "seconds": S, "check": X}. Run by suites/codec.ts, or by hand:
//   node dist/bench/suites/codec-worker.js decode-64k-ours 2 0.5
// Imported from the modules, as src/fastcgi does, not from the src/protocol index: tsc compiles the
// index's `export *` to getters, so every `RecordType.X` or encoder call through it was a getter
// call (8.6% of a --cpu-prof profile of decode-request-ours): harness cost, not codec cost, paid
// more on our side than on the peer's.
import { decodeBeginRequestBody } from '../../src/protocol/bodies';
import { FCGI_HEADER_LEN, FCGI_MAX_ALIGNED_CONTENT, ProtocolStatus, RecordType } from '../../src/protocol/constants';
import { encodeRecord, encodeStream, paddingFor, writeEndRequest, writeHeader } from '../../src/protocol/encode';
import { ParamsStream } from '../../src/protocol/pairs';
import { RecordDecoder } from '../../src/protocol/record';
import { LARGE_RESPONSE, SMALL_RESPONSE, chunk, encodeTypicalRequest } from '../lib/codec-fixtures';
import { createPeerEndpoint } from './codec-peer';

/** Pass: one unit of work; returns how many operations it did (requests decoded, responses encoded). */
type Pass = () => number;

const REQUESTS_PER_PASS = 1000;
const MAX_PARAMS = 1 << 20;
const ZERO_PADDING = Buffer.alloc(8);
let check = 0; // consumed by the output so no work is optimised away

function requestChunks(perRequest: boolean): Buffer[] {
  const one = encodeTypicalRequest(1);
  if (perRequest) return Array.from({ length: REQUESTS_PER_PASS }, () => one);
  return chunk(Buffer.concat(Array.from({ length: REQUESTS_PER_PASS }, () => one)), 65536);
}

/** decodeOurs: RecordDecoder + ParamsStream, the pairs decoded whole when PARAMS ends. */
function decodeOurs(chunks: Buffer[]): Pass {
  let done = 0;
  let params: ParamsStream | undefined;
  const decoder = new RecordDecoder((r) => {
    switch (r.type) {
      case RecordType.BeginRequest:
        check += decodeBeginRequestBody(r.content).role;
        params = new ParamsStream(MAX_PARAMS);
        break;
      case RecordType.Params:
        if (r.contentLength > 0) params!.append(r.content);
        else check += params!.decode().length;
        break;
      case RecordType.Stdin:
        if (r.contentLength === 0) done++;
        break;
    }
  });
  return () => {
    done = 0;
    for (const c of chunks) decoder.push(c);
    return done;
  };
}

/** decodePeer: fastcgi-stream's FastCGIStream fed the same chunks through a fake socket. */
function decodePeer(chunks: Buffer[]): Pass {
  let done = 0;
  const peer = createPeerEndpoint((_id, r) => {
    if (r.TYPE === RecordType.Params) check += r.params?.length ?? 0;
    else if (r.TYPE === RecordType.Stdin) done++;
  });
  return () => {
    done = 0;
    for (const c of chunks) peer.feed(c);
    return done;
  };
}

/** endOfResponse: the empty STDOUT and END_REQUEST in one 24-byte buffer. */
function endOfResponse(requestId: number): Buffer {
  const out = Buffer.allocUnsafe(FCGI_HEADER_LEN * 3);
  writeHeader(out, 0, RecordType.Stdout, requestId, 0, 0);
  writeEndRequest(out, FCGI_HEADER_LEN, requestId, 0, ProtocolStatus.RequestComplete);
  return out;
}

/** encodeOursCopy: STDOUT records with the content copied in (encodeStream), then the end. */
function encodeOursCopy(body: Buffer): Pass {
  return () => {
    for (let i = 0; i < REQUESTS_PER_PASS; i++) {
      for (const r of encodeStream(RecordType.Stdout, 1, body)) check += r.length;
      check += endOfResponse(1).length;
    }
    return REQUESTS_PER_PASS;
  };
}

/** encodeOursHeaders: only headers are built; content and padding go out as views (a writev). */
function encodeOursHeaders(body: Buffer): Pass {
  return () => {
    for (let i = 0; i < REQUESTS_PER_PASS; i++) {
      for (let o = 0; o < body.length; o += FCGI_MAX_ALIGNED_CONTENT) {
        const piece = body.subarray(o, Math.min(body.length, o + FCGI_MAX_ALIGNED_CONTENT));
        const header = Buffer.allocUnsafe(FCGI_HEADER_LEN);
        const padding = paddingFor(piece.length);
        writeHeader(header, 0, RecordType.Stdout, 1, piece.length, padding);
        check += header.length + piece.length + ZERO_PADDING.subarray(0, padding).length;
      }
      check += endOfResponse(1).length;
    }
    return REQUESTS_PER_PASS;
  };
}

/** encodeOursSmall: one record holding head and body (copied: cheaper than a writev when small). */
function encodeOursSmall(body: Buffer): Pass {
  return () => {
    for (let i = 0; i < REQUESTS_PER_PASS; i++) {
      check += encodeRecord(RecordType.Stdout, 1, body).length + endOfResponse(1).length;
    }
    return REQUESTS_PER_PASS;
  };
}

/** encodePeer: fastcgi-stream writeRecord for each STDOUT piece, the empty STDOUT and END_REQUEST. */
function encodePeer(body: Buffer): Pass {
  const peer = createPeerEndpoint(() => undefined);
  const { StdOut, EndRequest } = peer.records;
  return () => {
    for (let i = 0; i < REQUESTS_PER_PASS; i++) {
      for (let o = 0; o < body.length; o += FCGI_MAX_ALIGNED_CONTENT) {
        peer.stream.writeRecord(1, new StdOut(body.subarray(o, Math.min(body.length, o + FCGI_MAX_ALIGNED_CONTENT))));
      }
      peer.stream.writeRecord(1, new StdOut());
      peer.stream.writeRecord(1, new EndRequest(0, 0));
    }
    check += peer.written();
    return REQUESTS_PER_PASS;
  };
}

/** VARIANTS: every variant the codec suite knows, by name. */
export const VARIANTS: Record<string, () => Pass> = {
  'decode-64k-ours': () => decodeOurs(requestChunks(false)),
  'decode-64k-peer': () => decodePeer(requestChunks(false)),
  'decode-request-ours': () => decodeOurs(requestChunks(true)),
  'decode-request-peer': () => decodePeer(requestChunks(true)),
  'encode-small-ours': () => encodeOursSmall(SMALL_RESPONSE),
  'encode-small-peer': () => encodePeer(SMALL_RESPONSE),
  'encode-64k-ours': () => encodeOursHeaders(LARGE_RESPONSE),
  'encode-64k-ours-copy': () => encodeOursCopy(LARGE_RESPONSE),
  'encode-64k-peer': () => encodePeer(LARGE_RESPONSE),
};

/** time: run passes for `seconds`; operations per second. */
function time(pass: Pass, seconds: number): { ops: number; seconds: number } {
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let ops = 0;
  let elapsed = 0n;
  do {
    ops += pass();
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < limit);
  const s = Number(elapsed) / 1e9;
  return { ops: ops / s, seconds: s };
}

function main(): void {
  const [name, seconds = '2', warmup = '0.5'] = process.argv.slice(2);
  const make = name === undefined ? undefined : VARIANTS[name];
  if (!make) {
    process.stderr.write(`usage: codec-worker.js VARIANT [SECONDS] [WARMUP]; variants: ${Object.keys(VARIANTS).join(' ')}\n`);
    process.exit(2);
  }
  const pass = make();
  time(pass, Number(warmup));
  const result = time(pass, Number(seconds));
  process.stdout.write(JSON.stringify({ ...result, check }) + '\n');
}

if (require.main === module) main();
