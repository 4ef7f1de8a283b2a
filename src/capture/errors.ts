/** CaptureErrorCode: stable codes for capture files and their lookup. */
export type CaptureErrorCode =
  | 'CAPTURE_ERR_DIR'          // the capture folder cannot be created or written
  | 'CAPTURE_ERR_NOT_FOUND'    // no capture file by that path or id
  | 'CAPTURE_ERR_AMBIGUOUS'    // an id prefix matches several capture files
  | 'CAPTURE_ERR_FORMAT'       // the file is not a dualcgi capture
  | 'CAPTURE_ERR_NO_REQUEST';  // the capture holds no (such) request

/** CaptureError: the one error class of src/capture. */
export class CaptureError extends Error {
  readonly code: CaptureErrorCode;

  constructor(code: CaptureErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CaptureError';
    this.code = code;
  }
}
