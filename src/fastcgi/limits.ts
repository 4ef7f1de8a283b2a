/**
 * ConnectionLimits: what one web-server connection may ask of this process. Each has a default that
 * no real server reaches (FIELD-NOTES: servers send at most 64 KiB of params) and a named error.
 */
export interface ConnectionLimits {
  /** maxParams: pairs per request (FCGI_ERR_PARAMS_LIMIT, 431). */
  maxParams: number;
  /** maxNameBytes / maxValueBytes: one pair's name and value (FCGI_ERR_PARAMS_LIMIT, 431). */
  maxNameBytes: number;
  maxValueBytes: number;
  /** maxRequestsPerConn: requests in flight on one connection (END_REQUEST(OVERLOADED)). */
  maxRequestsPerConn: number;
  /** maxBodyBytes: request body size (FCGI_ERR_BODY_TOO_LARGE, 413). Default: no limit, like php-fpm. */
  maxBodyBytes: number;
  /**
   * idleTimeoutMs: a connection with nothing in flight and no bytes for this long is closed (it is
   * checked once a period, so it goes after one to two periods of quiet).
   */
  idleTimeoutMs: number;
  /** paramsTimeoutMs: BEGIN_REQUEST to the end of PARAMS (slowloris: FCGI_ERR_PARAMS_TIMEOUT, 408). */
  paramsTimeoutMs: number;
  /** writeTimeoutMs: how long a response may wait for a peer that does not read (FCGI_ERR_WRITE_TIMEOUT). */
  writeTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ConnectionLimits> = {
  maxParams: 1000,
  maxNameBytes: 1024,
  maxValueBytes: 256 * 1024,
  maxRequestsPerConn: 256,
  maxBodyBytes: Infinity,
  idleTimeoutMs: 120_000,
  paramsTimeoutMs: 30_000,
  writeTimeoutMs: 120_000,
};

/** normaliseLimits: options over defaults, once per server. */
export function normaliseLimits(partial: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}
