/** CgiErrorCode: stable codes for requests whose CGI meta-variables cannot make an HTTP request. */
export type CgiErrorCode =
  | 'CGI_ERR_BAD_CONTENT_LENGTH'   // CONTENT_LENGTH present but not a non-negative integer
  | 'CGI_ERR_NO_METHOD'            // REQUEST_METHOD absent or empty
  | 'CGI_ERR_BODY_TRUNCATED'       // stdin ended before CONTENT_LENGTH bytes
  | 'CGI_ERR_HEADER_INJECTION'     // a response header name or value would break the header block
  | 'CGI_ERR_BAD_STATUS';          // a response status that is not an integer from 100 to 999

/** CgiError: the one error class of src/cgi; `status` is the HTTP status a client should get. */
export class CgiError extends Error {
  readonly code: CgiErrorCode;
  readonly status: number;

  constructor(code: CgiErrorCode, message: string, status: number) {
    super(`cgi: ${message}`);
    this.name = 'CgiError';
    this.code = code;
    this.status = status;
  }
}
