import { RecordType, encodeRecord, protocolStatusName, roleName, FCGI_KEEP_CONN } from '../protocol';
import { CaptureError } from './errors';
import type { Capture } from './read';
import type { CapturedRequest } from './requests';

/** Selection: the request to replay, and a note when the choice was not obvious. */
export interface Selection {
  request: CapturedRequest;
  note?: string;
}

/**
 * captureNotes: what a reader of this capture must know before trusting its list: lines that did not
 * read (a file cut mid-line by a crash or a copy, or edited), and bytes the writer did not keep.
 */
export function captureNotes(capture: Capture): string[] {
  const notes: string[] = [];
  if (capture.badLines > 0) {
    notes.push(`${capture.path}: ${capture.badLines} line${capture.badLines > 1 ? 's' : ''} could not be read (a torn or edited file): ` +
      'what they held is missing, and so may be the requests after them');
  }
  if (capture.truncated) notes.push(`${capture.path}: the file reached its size bound; later bytes were counted, not kept`);
  return notes;
}

/** selectRequest: request `index` (1-based), else the only one, else the first with a note. */
export function selectRequest(requests: CapturedRequest[], source: string, index?: number): Selection {
  if (requests.length === 0) {
    throw new CaptureError('CAPTURE_ERR_NO_REQUEST', `${source} holds no BEGIN_REQUEST: nothing to replay`);
  }
  if (index !== undefined) {
    const request = requests[index - 1];
    if (!request) throw new CaptureError('CAPTURE_ERR_NO_REQUEST', `${source} holds ${requests.length} request(s), not #${index}`);
    return { request };
  }
  if (requests.length === 1) return { request: requests[0]! };
  return { request: requests[0]!, note: `${source} holds ${requests.length} requests; replaying #1 (pick one with FILE#N, list them with --list)` };
}

/**
 * replayRecords: the request's records as captured, completed where the capture stops early (a
 * missing end of PARAMS or STDIN would leave the responder waiting forever). Notes say what was added.
 */
export function replayRecords(r: CapturedRequest): { records: Buffer[]; notes: string[] } {
  const records = [...r.records];
  const notes: string[] = [];
  const types = r.records.map((b) => ({ type: b[1]!, length: b.readUInt16BE(4) }));
  const ended = (type: number): boolean => types.some((t) => t.type === type && t.length === 0);
  if (!ended(RecordType.Params)) {
    records.push(encodeRecord(RecordType.Params, r.requestId));
    notes.push('the capture stops inside PARAMS: an empty PARAMS record was added');
  }
  if (!ended(RecordType.Stdin)) {
    records.push(encodeRecord(RecordType.Stdin, r.requestId));
    notes.push('the capture stops inside STDIN: an empty STDIN record was added (the body may be short)');
  }
  if (r.aborted) notes.push('the web server aborted this request (ABORT_REQUEST); it is replayed as it was, abort included');
  return { records, notes };
}

/**
 * cgiEnvironment: a captured request's params as a CGI environment. GATEWAY_INTERFACE is what makes
 * dispatch() choose CGI mode (fd 0 is a pipe then), so it is added when the web server sent none.
 */
export function cgiEnvironment(r: CapturedRequest): Array<[string, string]> {
  const env = [...r.params];
  if (!env.some(([n]) => n === 'GATEWAY_INTERFACE')) env.push(['GATEWAY_INTERFACE', 'CGI/1.1']);
  return env;
}

/** describeRequest: one line for --list: index, id, role, flags, method and URI, body size, outcome. */
export function describeRequest(r: CapturedRequest): string {
  const param = (name: string): string | undefined => {
    let value: string | undefined;
    for (const [n, v] of r.params) if (n === name) value = v;
    return value;
  };
  const what = r.paramsError ? `(params do not decode: ${r.paramsError})` : `${param('REQUEST_METHOD') ?? '?'} ${param('REQUEST_URI') ?? param('SCRIPT_NAME') ?? '?'}`;
  const status = /^Status:\s*(\d{3})/im.exec(r.response.stdout.subarray(0, 4096).toString('latin1'))?.[1];
  const end = r.response.protocolStatus === undefined ? 'no END_REQUEST'
    : `${status ?? '200'} ${protocolStatusName(r.response.protocolStatus)} app=${r.response.appStatus}`;
  return `#${r.index} t=${r.t.toFixed(3)}ms id=${r.requestId} ${roleName(r.role)}${r.flags & FCGI_KEEP_CONN ? ' KEEP_CONN' : ''} ` +
    `${what} stdin=${r.stdin.length}${r.complete ? '' : ' (incomplete)'}${r.aborted ? ' ABORTED' : ''} -> ${end}`;
}

/** inspectorUrl: the ws:// URL in Node's "Debugger listening on ws://..." line, once it has arrived. */
export function inspectorUrl(stderr: string): string | null {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1] ?? null;
}

/** devtoolsUrl: the Chrome DevTools front-end for a ws:// inspector URL. */
export function devtoolsUrl(ws: string): string {
  return `devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=${ws.slice('ws://'.length)}`;
}
