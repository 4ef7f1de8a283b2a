import {
  FCGI_HEADER_LEN, FCGI_MAX_ALIGNED_CONTENT, FCGI_MAX_CONTENT_LENGTH, FCGI_NULL_REQUEST_ID, FCGI_VERSION_1,
  RecordType,
} from './constants';
import { ProtocolError } from './errors';
import { encodePairs } from './pairs';

/** paddingFor: padding that brings contentLength to a multiple of 8 (spec 3.3 recommendation). */
export function paddingFor(contentLength: number): number {
  return (8 - (contentLength & 7)) & 7;
}

/** writeHeader: write an 8-byte record header into `out` at `offset`. */
export function writeHeader(out: Buffer, offset: number, type: number, requestId: number,
  contentLength: number, paddingLength: number): void {
  out[offset] = FCGI_VERSION_1;
  out[offset + 1] = type;
  out[offset + 2] = (requestId >> 8) & 0xff;
  out[offset + 3] = requestId & 0xff;
  out[offset + 4] = (contentLength >> 8) & 0xff;
  out[offset + 5] = contentLength & 0xff;
  out[offset + 6] = paddingLength;
  out[offset + 7] = 0;
}

/** encodeHeader: an 8-byte record header. */
export function encodeHeader(type: number, requestId: number, contentLength: number, paddingLength = 0): Buffer {
  const out = Buffer.allocUnsafe(FCGI_HEADER_LEN);
  writeHeader(out, 0, type, requestId, contentLength, paddingLength);
  return out;
}

/**
 * encodeRecord: one whole record (header, content, zero padding to 8 bytes) in one buffer.
 * Throws FCGI_ERR_CONTENT_TOO_LONG above 65535 content bytes; see encodeStream for longer data.
 */
export function encodeRecord(type: number, requestId: number, content: Buffer = Buffer.alloc(0),
  paddingLength = paddingFor(content.length)): Buffer {
  if (content.length > FCGI_MAX_CONTENT_LENGTH) {
    throw new ProtocolError('FCGI_ERR_CONTENT_TOO_LONG',
      `record content of ${content.length} bytes exceeds ${FCGI_MAX_CONTENT_LENGTH}`);
  }
  // Speed (bench codec encode-small, encode-64k-ours-copy): allocUnsafe takes small records from
  // Node's pool and skips zeroing bytes that are written anyway; every byte is written below
  // (header, content, zero padding), so no old memory can leak.
  const end = FCGI_HEADER_LEN + content.length;
  const out = Buffer.allocUnsafe(end + paddingLength);
  writeHeader(out, 0, type, requestId, content.length, paddingLength);
  if (content.length !== 0) content.copy(out, FCGI_HEADER_LEN);
  if (paddingLength !== 0) out.fill(0, end);
  return out;
}

/**
 * encodeStream: stream data (STDIN, STDOUT, STDERR, DATA, PARAMS) as records of at most
 * `maxContent` bytes each. Does not add the empty record that ends a stream.
 */
export function encodeStream(type: number, requestId: number, data: Buffer,
  maxContent = FCGI_MAX_ALIGNED_CONTENT): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += maxContent) {
    out.push(encodeRecord(type, requestId, data.subarray(offset, Math.min(data.length, offset + maxContent))));
  }
  return out;
}

/** encodeBeginRequest: FCGI_BEGIN_REQUEST with its 8-byte body (spec 5.1). */
export function encodeBeginRequest(requestId: number, role: number, flags: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = flags;
  return encodeRecord(RecordType.BeginRequest, requestId, body);
}

/** encodeEndRequest: FCGI_END_REQUEST with its 8-byte body (spec 5.5). */
export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const out = Buffer.alloc(FCGI_HEADER_LEN + 8);
  writeEndRequest(out, 0, requestId, appStatus, protocolStatus);
  return out;
}

/** writeEndRequest: write a 16-byte END_REQUEST record into `out` at `offset`. */
export function writeEndRequest(out: Buffer, offset: number, requestId: number, appStatus: number,
  protocolStatus: number): void {
  writeHeader(out, offset, RecordType.EndRequest, requestId, 8, 0);
  out.writeUInt32BE(appStatus >>> 0, offset + 8);
  out[offset + 12] = protocolStatus;
  out[offset + 13] = 0;
  out[offset + 14] = 0;
  out[offset + 15] = 0;
}

/** encodeUnknownType: FCGI_UNKNOWN_TYPE naming the type we did not understand (spec 4.2). */
export function encodeUnknownType(type: number): Buffer {
  const body = Buffer.alloc(8);
  body[0] = type;
  return encodeRecord(RecordType.UnknownType, FCGI_NULL_REQUEST_ID, body);
}

/** encodeGetValues: FCGI_GET_VALUES asking for the named variables (values empty, spec 4.1). */
export function encodeGetValues(names: readonly string[]): Buffer {
  return encodeRecord(RecordType.GetValues, FCGI_NULL_REQUEST_ID, encodePairs(names.map((n) => [n, ''] as const)));
}

/** encodeGetValuesResult: FCGI_GET_VALUES_RESULT with the given pairs. */
export function encodeGetValuesResult(pairs: Iterable<readonly [string, string]>): Buffer {
  return encodeRecord(RecordType.GetValuesResult, FCGI_NULL_REQUEST_ID, encodePairs(pairs));
}

/**
 * encodeParams: a whole PARAMS stream: the pairs in records of at most `maxContent` bytes, then the
 * empty record. A pair may straddle two records, as the spec allows.
 */
export function encodeParams(requestId: number, pairs: Iterable<readonly [string, string]>,
  maxContent = FCGI_MAX_ALIGNED_CONTENT): Buffer[] {
  const records = encodeStream(RecordType.Params, requestId, encodePairs(pairs), maxContent);
  records.push(encodeRecord(RecordType.Params, requestId));
  return records;
}
