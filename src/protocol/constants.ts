/**
 * FastCGI 1.0 constants, named as in the specification (section 8, "Types and Constants").
 */

/** FCGI_VERSION_1: the only protocol version the spec defines. */
export const FCGI_VERSION_1 = 1;

/** FCGI_HEADER_LEN: every record starts with an 8-byte header. */
export const FCGI_HEADER_LEN = 8;

/** The largest contentLength a record can carry (a 16-bit field). */
export const FCGI_MAX_CONTENT_LENGTH = 0xffff;

/**
 * The largest stream chunk we put in one record: a multiple of 8 below 65535, so a full record
 * needs no padding and stays 8-byte aligned (spec 3.3 recommends aligned records).
 */
export const FCGI_MAX_ALIGNED_CONTENT = 65528;

/** FCGI_NULL_REQUEST_ID: management records (spec 3.3) use request id 0. */
export const FCGI_NULL_REQUEST_ID = 0;

/** RecordType: the `type` byte of a record header (spec 8). */
export enum RecordType {
  BeginRequest = 1,
  AbortRequest = 2,
  EndRequest = 3,
  Params = 4,
  Stdin = 5,
  Stdout = 6,
  Stderr = 7,
  Data = 8,
  GetValues = 9,
  GetValuesResult = 10,
  UnknownType = 11,
}

/** FCGI_MAXTYPE: types above this are unknown to FastCGI 1.0. */
export const FCGI_MAXTYPE = RecordType.UnknownType;

/** Role: the role field of FCGI_BeginRequestBody (spec 5.1, 6). */
export enum Role {
  Responder = 1,
  Authorizer = 2,
  Filter = 3,
}

/** FCGI_KEEP_CONN: the only flag of FCGI_BeginRequestBody. */
export const FCGI_KEEP_CONN = 1;

/** ProtocolStatus: the protocolStatus field of FCGI_EndRequestBody (spec 5.5). */
export enum ProtocolStatus {
  RequestComplete = 0,
  CantMpxConn = 1,
  Overloaded = 2,
  UnknownRole = 3,
}

/** The three variables FCGI_GET_VALUES may ask for (spec 4.1). */
export const FCGI_MAX_CONNS = 'FCGI_MAX_CONNS';
export const FCGI_MAX_REQS = 'FCGI_MAX_REQS';
export const FCGI_MPXS_CONNS = 'FCGI_MPXS_CONNS';

/** isManagementType: records that belong to the connection, not a request (spec 3.3). */
export function isManagementType(type: number): boolean {
  return type === RecordType.GetValues || type === RecordType.GetValuesResult ||
    type === RecordType.UnknownType;
}

const typeNames: Record<number, string> = {
  [RecordType.BeginRequest]: 'BEGIN_REQUEST',
  [RecordType.AbortRequest]: 'ABORT_REQUEST',
  [RecordType.EndRequest]: 'END_REQUEST',
  [RecordType.Params]: 'PARAMS',
  [RecordType.Stdin]: 'STDIN',
  [RecordType.Stdout]: 'STDOUT',
  [RecordType.Stderr]: 'STDERR',
  [RecordType.Data]: 'DATA',
  [RecordType.GetValues]: 'GET_VALUES',
  [RecordType.GetValuesResult]: 'GET_VALUES_RESULT',
  [RecordType.UnknownType]: 'UNKNOWN_TYPE',
};

/** recordTypeName: the spec's name without the FCGI_ prefix, or `TYPE_<n>` for unknown types. */
export function recordTypeName(type: number): string {
  return typeNames[type] ?? `TYPE_${type}`;
}

const roleNames: Record<number, string> = {
  [Role.Responder]: 'RESPONDER',
  [Role.Authorizer]: 'AUTHORIZER',
  [Role.Filter]: 'FILTER',
};

/** roleName: RESPONDER, AUTHORIZER, FILTER, or `ROLE_<n>`. */
export function roleName(role: number): string {
  return roleNames[role] ?? `ROLE_${role}`;
}

const statusNames: Record<number, string> = {
  [ProtocolStatus.RequestComplete]: 'REQUEST_COMPLETE',
  [ProtocolStatus.CantMpxConn]: 'CANT_MPX_CONN',
  [ProtocolStatus.Overloaded]: 'OVERLOADED',
  [ProtocolStatus.UnknownRole]: 'UNKNOWN_ROLE',
};

/** protocolStatusName: REQUEST_COMPLETE, CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE, or `STATUS_<n>`. */
export function protocolStatusName(status: number): string {
  return statusNames[status] ?? `STATUS_${status}`;
}
