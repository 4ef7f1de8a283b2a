/** ConnectionErrorCode: stable codes for what a FastCGI connection refuses or loses. */
export type ConnectionErrorCode =
  | 'FCGI_ERR_DUPLICATE_REQUEST'   // BEGIN_REQUEST for an id already in flight: the connection is closed
  | 'FCGI_ERR_CONNECTION_LOST'     // the web server closed or reset the connection mid-request
  | 'FCGI_ERR_ABORTED'             // the web server sent ABORT_REQUEST
  | 'FCGI_ERR_ADDRESS_REFUSED'     // a TCP peer not in FCGI_WEB_SERVER_ADDRS
  | 'FCGI_ERR_BAD_PARAMS'          // the PARAMS stream could not be decoded or mapped to a request
  | 'FCGI_ERR_SHUTTING_DOWN';      // a new request arrived while the server drains

/** ConnectionError: the one error class of src/fastcgi. */
export class ConnectionError extends Error {
  readonly code: ConnectionErrorCode;

  constructor(code: ConnectionErrorCode, message: string) {
    super(`fcgi: ${message}`);
    this.name = 'ConnectionError';
    this.code = code;
  }
}
