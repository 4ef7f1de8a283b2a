import { encodeResponseHead, type HeaderList } from '../cgi/response-head';
import type { Exchange } from './exchange';

/** ResponseLike: what a fetch app must return: a WHATWG Response (or an object shaped like one). */
export interface ResponseLike {
  status: number;
  statusText: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
}

/** isResponseLike: a Response from this realm, or a polyfill with the same shape. */
export function isResponseLike(value: unknown): value is ResponseLike {
  if (value instanceof Response) return true;
  const v = value as Partial<ResponseLike> | null;
  return typeof v === 'object' && v !== null && typeof v.status === 'number' &&
    typeof (v.headers as Headers | undefined)?.forEach === 'function';
}

/**
 * responseHeaderList: the Response's headers in order. Set-Cookie values come from getSetCookie()
 * one by one: joined with ", " they could not be split again (RFC 6265 3).
 */
export function responseHeaderList(headers: Headers): HeaderList {
  const list: HeaderList = [];
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') list.push([name, value]);
  });
  const cookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [];
  for (const cookie of cookies) list.push(['set-cookie', cookie]);
  return list;
}

/** encodeFetchHead: the CGI head of a Response; throws CgiError CGI_ERR_HEADER_INJECTION. */
export function encodeFetchHead(response: ResponseLike): string {
  return encodeResponseHead(response.status, response.statusText, responseHeaderList(response.headers));
}

/**
 * writeChunk: hand `chunk` to the exchange; a promise only when the transport asks us to wait
 * (the common case calls back at once, and costs no promise).
 */
export function writeChunk(exchange: Exchange, chunk: Buffer): Promise<void> | undefined {
  let called = false;
  let wake: (() => void) | undefined;
  exchange.write(chunk, () => {
    called = true;
    wake?.();
  });
  if (called) return undefined;
  return new Promise((resolve) => {
    wake = resolve;
  });
}

/** toBuffer: a body chunk as a Buffer over the same memory (no copy). */
export function toBuffer(chunk: unknown): Buffer {
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`the Response body produced a ${typeof chunk} chunk; a ReadableStream body must produce Uint8Array chunks`);
}

/**
 * StreamState: what streamResponse reports (`headSent`) and obeys: `over` (the request was ended
 * elsewhere, a timeout) stops the body; `cancel` is set to what cancels its reader.
 */
export interface StreamState {
  headSent: boolean;
  over?: boolean;
  cancel?: ((reason: Error) => void) | null;
}

/** FIRST_CHUNK_WAIT: the head waits this long for the first body chunk, so both go in one record. */
const firstChunkWait = (): Promise<'late'> => new Promise((resolve) => setImmediate(resolve, 'late'));

/**
 * streamResponse: the head, then the body read chunk by chunk, each written only when the
 * transport took the previous one: a 1 GiB stream holds at most one chunk here (backpressure).
 * The head goes out with the first chunk when it is ready within one event-loop turn; a stream
 * that takes longer (server-sent events, long polls) gets its head at once. Resolves when the
 * body is out or the request was aborted; rejects when the body stream fails (`state.headSent`
 * then tells whether a 500 can still be sent).
 */
export async function streamResponse(exchange: Exchange, head: Buffer, body: ReadableStream<Uint8Array> | null,
  sendBody: boolean, state: StreamState): Promise<void> {
  if (body === null || !sendBody) {
    if (body !== null) body.cancel().catch(() => undefined); // HEAD: the source may stop producing
    state.headSent = true;
    await writeChunk(exchange, head);
    return;
  }
  const reader = body.getReader();
  const cancel = (reason: Error): void => {
    reader.cancel(reason).catch(() => undefined);
  };
  exchange.onAbort(cancel);
  state.cancel = cancel;
  const first = reader.read();
  let next = await Promise.race([first, firstChunkWait()]);
  if (next === 'late') {
    state.headSent = true;
    await writeChunk(exchange, head);
    next = await first;
  } else if (!next.done) {
    const chunk = toBuffer(next.value);
    state.headSent = true;
    await writeChunk(exchange, chunk.length === 0 ? head : Buffer.concat([head, chunk]));
    next = await reader.read();
  } else {
    state.headSent = true;
    await writeChunk(exchange, head);
  }
  while (!next.done && !exchange.aborted && state.over !== true) {
    const chunk = toBuffer(next.value);
    // An empty STDOUT record would end the stream for the web server (spec 5.3).
    if (chunk.length > 0) await writeChunk(exchange, chunk);
    next = await reader.read();
  }
  if (!next.done) reader.cancel().catch(() => undefined);
}
