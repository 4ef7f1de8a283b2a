import {
  FCGI_NULL_REQUEST_ID, type FastCGIRecord, ParamsStream, RecordDecoder, RecordType, decodeBeginRequestBody,
  decodeEndRequestBody, encodeRecord,
} from '../protocol';
import type { Capture } from './read';

/** CapturedResponse: what the responder sent back for a captured request. */
export interface CapturedResponse {
  stdout: Buffer;
  stderr: Buffer;
  appStatus?: number;
  protocolStatus?: number;
}

/** CapturedRequest: one request as the web server sent it, rebuilt from a capture's 'in' bytes. */
export interface CapturedRequest {
  /** index: 1-based, in BEGIN_REQUEST order within the connection. */
  index: number;
  requestId: number;
  role: number;
  flags: number;
  params: Array<[string, string]>;
  /** paramsError: the PARAMS stream did not decode (the pairs above are empty then). */
  paramsError?: string;
  stdin: Buffer;
  /** complete: the empty STDIN record arrived (the request was sent whole). */
  complete: boolean;
  aborted: boolean;
  /** records: this request's records re-encoded with their original content and padding lengths. */
  records: Buffer[];
  response: CapturedResponse;
  /** t: ms after the capture's start at which BEGIN_REQUEST arrived. */
  t: number;
}

/** Building: a request while its records are still arriving. */
interface Building {
  request: CapturedRequest;
  params: ParamsStream;
  stdin: Buffer[];
  stdout: Buffer[];
  stderr: Buffer[];
}

/**
 * extractRequests: the requests of a capture. 'in' is the web server's side (as `attachCapture` on a
 * responder's socket and `tap` record it); 'out' the responder's. Records are decoded in the order
 * the chunks crossed the socket, so a request id reused under KEEP_CONN starts a new request, and
 * multiplexed requests are told apart by id. Bytes that stop being records end decoding of that side.
 */
export function extractRequests(capture: Capture): CapturedRequest[] {
  const all: Building[] = [];
  const open = new Map<number, Building>();
  const latest = new Map<number, Building>();
  let t = 0;
  const onIn = (record: FastCGIRecord): void => {
    if (record.requestId === FCGI_NULL_REQUEST_ID) return;
    if (record.type === RecordType.BeginRequest) {
      const b = begin(record, all.length + 1, t);
      all.push(b);
      open.set(record.requestId, b);
      latest.set(record.requestId, b);
      return;
    }
    const b = open.get(record.requestId);
    if (b) addIn(b, record);
  };
  const onOut = (record: FastCGIRecord): void => {
    const b = latest.get(record.requestId);
    if (b && addOut(b, record)) open.delete(record.requestId);
  };
  const decoders = { in: safeDecoder(onIn), out: safeDecoder(onOut) };
  for (const chunk of capture.chunks) {
    t = chunk.t;
    decoders[chunk.dir](chunk.data);
  }
  return all.map(finish);
}

function safeDecoder(onRecord: (record: FastCGIRecord) => void): (chunk: Buffer) => void {
  const decoder = new RecordDecoder(onRecord);
  let failed = false;
  return (chunk) => {
    if (failed) return;
    try {
      decoder.push(chunk);
    } catch {
      failed = true;
    }
  };
}

function begin(record: FastCGIRecord, index: number, t: number): Building {
  let role = 0;
  let flags = 0;
  try {
    ({ role, flags } = decodeBeginRequestBody(record.content));
  } catch {
    // a malformed BEGIN_REQUEST is replayed as it was; role 0 says it did not decode
  }
  return {
    request: {
      index, requestId: record.requestId, role, flags, params: [], stdin: Buffer.alloc(0), complete: false,
      aborted: false, records: [reencode(record)], response: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }, t,
    },
    params: new ParamsStream(Number.MAX_SAFE_INTEGER),
    stdin: [],
    stdout: [],
    stderr: [],
  };
}

function addIn(b: Building, record: FastCGIRecord): void {
  b.request.records.push(reencode(record));
  switch (record.type) {
    case RecordType.Params:
      if (record.content.length > 0) b.params.append(Buffer.from(record.content));
      else decodeParams(b);
      return;
    case RecordType.Stdin:
      if (record.content.length === 0) b.request.complete = true;
      else b.stdin.push(Buffer.from(record.content));
      return;
    case RecordType.AbortRequest:
      b.request.aborted = true;
      return;
    default:
  }
}

function decodeParams(b: Building): void {
  try {
    b.request.params = b.params.decode();
  } catch (err) {
    b.request.paramsError = (err as Error).message;
  }
}

/** addOut: a responder record; true once END_REQUEST closes the request. */
function addOut(b: Building, record: FastCGIRecord): boolean {
  if (record.type === RecordType.Stdout) b.stdout.push(Buffer.from(record.content));
  else if (record.type === RecordType.Stderr) b.stderr.push(Buffer.from(record.content));
  else if (record.type === RecordType.EndRequest) {
    try {
      const body = decodeEndRequestBody(record.content);
      b.request.response.appStatus = body.appStatus;
      b.request.response.protocolStatus = body.protocolStatus;
    } catch {
      // shown as a response without a status
    }
    return true;
  }
  return false;
}

function finish(b: Building): CapturedRequest {
  const r = b.request;
  r.stdin = Buffer.concat(b.stdin);
  r.response.stdout = Buffer.concat(b.stdout);
  r.response.stderr = Buffer.concat(b.stderr);
  return r;
}

/** reencode: a record's bytes again; padding bytes are zeros (their value carries nothing, spec 3.3). */
function reencode(record: FastCGIRecord): Buffer {
  return encodeRecord(record.type, record.requestId, Buffer.from(record.content), record.paddingLength);
}
