/** ConnectionErrorCode: stable codes for what a FastCGI connection refuses or loses. */
export type ConnectionErrorCode =
  | 'FCGI_ERR_DUPLICATE_REQUEST'   // BEGIN_REQUEST for an id already in flight: the connection is closed
  | 'FCGI_ERR_CONNECTION_LOST'     // the web server closed or reset the connection mid-request
  | 'FCGI_ERR_ABORTED'             // the web server sent ABORT_REQUEST
  | 'FCGI_ERR_ADDRESS_REFUSED'     // a TCP peer not in FCGI_WEB_SERVER_ADDRS
  | 'FCGI_ERR_TOO_MANY_CONNS'      // a connection past FCGI_MAX_CONNS: closed as it is accepted
  | 'FCGI_ERR_BAD_PARAMS'          // the PARAMS stream could not be decoded or mapped to a request
  | 'FCGI_ERR_SHUTTING_DOWN'       // a new request arrived while the server drains
  | 'FCGI_ERR_PARAMS_LIMIT'        // too many params, or a name or value too long (431)
  | 'FCGI_ERR_BODY_TOO_LARGE'      // the body passed maxBodyBytes (413)
  | 'FCGI_ERR_BODY_TRUNCATED'      // STDIN ended before CONTENT_LENGTH bytes (400)
  | 'FCGI_ERR_IDLE_TIMEOUT'        // nothing in flight and no bytes for idleTimeoutMs
  | 'FCGI_ERR_PARAMS_TIMEOUT'      // PARAMS not complete within paramsTimeoutMs (408)
  | 'FCGI_ERR_WRITE_TIMEOUT'       // the peer did not read the response for writeTimeoutMs
  | 'FCGI_ERR_DRAIN_TIMEOUT';      // still in flight when a graceful stop's drain time ran out: cut off

/** ConnectionError: the one error class of src/fastcgi. */
export class ConnectionError extends Error {
  readonly code: ConnectionErrorCode;
  /** status: the HTTP status a client should get, where the error is the request's fault. */
  readonly status: number | undefined;

  constructor(code: ConnectionErrorCode, message: string, status?: number) {
    super(`fcgi: ${message}`);
    this.name = 'ConnectionError';
    this.code = code;
    this.status = status;
  }
}
