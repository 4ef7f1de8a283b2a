/** ClientErrorCode: stable codes for every way talking to a FastCGI or CGI app can fail. */
export type ClientErrorCode =
  | 'CLIENT_ERR_CONNECT'          // the socket could not be connected (the errno is in `cause`)
  | 'CLIENT_ERR_CLOSED'           // the server closed the connection before END_REQUEST / the answer
  | 'CLIENT_ERR_PROTOCOL'         // the server sent bytes that are not FastCGI records
  | 'CLIENT_ERR_BUSY_ID'          // a request id already in flight on this connection was asked for
  | 'CLIENT_ERR_TIMEOUT'          // no answer within the time asked for
  | 'CLIENT_ERR_BAD_HEAD'         // the response is not a CGI head, a blank line and a body (RFC 3875 6)
  | 'CLIENT_ERR_NOT_EXECUTABLE'   // the script lacks the execute bit (Apache: AH01241)
  | 'CLIENT_ERR_SPAWN'            // the script could not be started (missing interpreter, ...)
  | 'CLIENT_ERR_LAUNCH'           // the listening socket for a FastCGI script could not be set up
  | 'CLIENT_ERR_LIMIT';           // the request breaks a limit of the web server a profile imitates

/** ClientError: the one error class of src/client. `cause` carries the underlying errno error. */
export class ClientError extends Error {
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ClientError';
    this.code = code;
  }
}

/** isClientError: narrows an unknown thrown value, optionally to one code. */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}

/** errnoCode: the `code` of a Node system error (ECONNREFUSED, ENOENT, ...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
