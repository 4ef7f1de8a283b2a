/**
 * ProtocolErrorCode: stable codes for every way FastCGI bytes can be malformed.
 * Tests and trace consumers match on these, never on messages.
 */
export type ProtocolErrorCode =
  | 'FCGI_ERR_BAD_VERSION'         // header version byte is not 1
  | 'FCGI_ERR_BAD_BODY_LENGTH'     // a fixed-size body (BEGIN/END_REQUEST, UNKNOWN_TYPE) has the wrong length
  | 'FCGI_ERR_TRUNCATED_PAIR'      // a name-value pair ends before its declared lengths
  | 'FCGI_ERR_PARAMS_TOO_LARGE'    // the PARAMS stream of one request exceeds maxParamsBytes
  | 'FCGI_ERR_CONTENT_TOO_LONG'    // encoder asked to put more than 65535 bytes in one record
  | 'FCGI_ERR_NAME_TOO_LONG'       // encoder asked to write a name or value longer than 2^31-1
  | 'FCGI_ERR_TRUNCATED_RECORD';   // the stream ended inside a record

/** ProtocolError: the one error class of src/protocol. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(`fcgi: ${message}`);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** isProtocolError: narrows an unknown thrown value. */
export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
