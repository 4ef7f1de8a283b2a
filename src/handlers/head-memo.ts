import type { ParamLookup } from '../cgi/params';
import { createRequestHead, parsePort, type RequestHead, type RequestHeadOptions } from '../cgi/request-head';

/**
 * ParamColumns: params as two parallel lists, names and values (fastcgi/param-list.ts's ParamList);
 * `remembered`: the next request's list may share these (fastcgi/param-memo.ts).
 */
interface ParamColumns {
  readonly names: readonly string[];
  readonly values: readonly string[];
  readonly remembered: boolean;
}

/**
 * requestHeadOf: createRequestHead, with the last head remembered. Behind nginx a request's params
 * are most often the last request's but for REMOTE_PORT, and decodeParamList then hands out the
 * same names list with the same value strings (fastcgi/param-memo.ts): the head is then the last
 * one with another remotePort, and is copied instead of mapped again (the mapping was ~0.45 us of
 * a hello request; bench/README.md, nginx, "seventh session"). Params of any other kind (a Map,
 * CGI), other options, or any other value changed: createRequestHead, remembered for next time
 * when the decoder remembered the list.
 */
export function requestHeadOf(params: ParamLookup, options: RequestHeadOptions): RequestHead {
  const columns = params as Partial<ParamColumns>;
  const names = columns.names;
  const values = columns.values;
  if (names === undefined || values === undefined) return createRequestHead(params, options);
  if (names === lastNames && options === lastOptions && values.length === lastValues.length) {
    const head = recall(values);
    if (head !== null) return head;
  }
  const head = createRequestHead(params, options);
  // Kept only when it can be asked for again: copying it for every request of mixed traffic
  // cost more than the mapping it could save.
  if (columns.remembered !== true) return head;
  lastNames = names;
  lastValues = values;
  lastOptions = options;
  last = { ...head, rawHeaders: head.rawHeaders.slice() }; // its own copy: the app gets the head's array
  portIndex = names.indexOf('REMOTE_PORT');
  lastPort = head.remotePort;
  return head;
}

let lastNames: readonly string[] | null = null;
let lastValues: readonly string[] = [];
let lastOptions: RequestHeadOptions | null = null;
/** last: the last head mapped in full; its rawHeaders are never handed out. */
let last: RequestHead | null = null;
/** portIndex: where REMOTE_PORT is in lastNames (-1: not sent); lastPort: the last head's remotePort. */
let portIndex = -1;
let lastPort = 0;

/** recall: the last head for `values` if they differ from the last ones at most in REMOTE_PORT. */
function recall(values: readonly string[]): RequestHead | null {
  const prev = lastValues;
  let port = lastPort;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === prev[i]) continue; // a recalled list shares the unchanged strings
    if (i !== portIndex) return null;
    port = parsePort(values[i]);
  }
  lastValues = values;
  lastPort = port;
  const head = last!;
  return {
    method: head.method,
    url: head.url,
    originalUrl: head.originalUrl,
    mountPoint: head.mountPoint,
    rawHeaders: head.rawHeaders.slice(),
    contentLength: head.contentLength,
    https: head.https,
    remoteAddress: head.remoteAddress,
    remotePort: port,
    localAddress: head.localAddress,
    localPort: head.localPort,
    httpVersion: head.httpVersion,
  };
}
