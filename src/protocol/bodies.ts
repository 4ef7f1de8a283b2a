import { ProtocolError } from './errors';

/** BeginRequestBody: FCGI_BeginRequestBody (spec 5.1). */
export interface BeginRequestBody {
  role: number;
  flags: number;
}

/** EndRequestBody: FCGI_EndRequestBody (spec 5.5). */
export interface EndRequestBody {
  appStatus: number;
  protocolStatus: number;
}

function expectLength(content: Buffer, what: string): void {
  if (content.length !== 8) {
    throw new ProtocolError('FCGI_ERR_BAD_BODY_LENGTH', `${what} body is ${content.length} bytes, expected 8`);
  }
}

/** decodeBeginRequestBody: role and flags; throws FCGI_ERR_BAD_BODY_LENGTH unless 8 bytes. */
export function decodeBeginRequestBody(content: Buffer): BeginRequestBody {
  expectLength(content, 'BEGIN_REQUEST');
  return { role: content.readUInt16BE(0), flags: content[2]! };
}

/** decodeEndRequestBody: appStatus and protocolStatus; throws FCGI_ERR_BAD_BODY_LENGTH unless 8 bytes. */
export function decodeEndRequestBody(content: Buffer): EndRequestBody {
  expectLength(content, 'END_REQUEST');
  return { appStatus: content.readUInt32BE(0), protocolStatus: content[4]! };
}

/** decodeUnknownTypeBody: the type the peer did not understand. */
export function decodeUnknownTypeBody(content: Buffer): number {
  expectLength(content, 'UNKNOWN_TYPE');
  return content[0]!;
}
