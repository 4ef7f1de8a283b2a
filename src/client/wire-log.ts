import {
  FCGI_KEEP_CONN, type FastCGIRecord, ParamsStream, RecordDecoder, RecordType, decodeBeginRequestBody,
  decodeEndRequestBody, decodePairs, decodeUnknownTypeBody, protocolStatusName, recordTypeName, roleName,
} from '../protocol';
import { preview } from '../trace/redact';

/** WireLogOptions: what to print about the bytes on a connection. */
export interface WireLogOptions {
  /** decode: one line per record (and its pairs), both directions (-v). */
  decode: boolean;
  /** raw: a hex dump of every chunk as written and read (--raw). */
  raw: boolean;
  /** previewBytes: how much of a stream record's content is shown. Default 120. */
  previewBytes?: number;
}

/** MARK: direction marks as curl -v draws them: '>' we sent, '<' we received. */
const MARK = { out: '>', in: '<' } as const;

/**
 * createWireLog: a ConnectOptions.onWire for `dualcgi request -v / --raw`. Each direction has its own
 * decoder, so records that arrive split over chunks print once, whole. PARAMS pairs print when their
 * stream ends: a pair may straddle records (spec 3.4). Bytes that are not records end decoding of
 * that direction with one line saying so; the hex dump goes on.
 */
export function createWireLog(write: (text: string) => void, options: WireLogOptions): (dir: 'out' | 'in', chunk: Buffer) => void {
  const limit = options.previewBytes ?? 120;
  const sides = {
    out: createSide('out', write, limit),
    in: createSide('in', write, limit),
  };
  const offsets = { out: 0, in: 0 };
  return (dir, chunk) => {
    if (options.raw) write(hexDump(chunk, `${MARK[dir]} `, offsets[dir]));
    offsets[dir] += chunk.length;
    if (options.decode) sides[dir](chunk);
  };
}

function createSide(dir: 'out' | 'in', write: (text: string) => void, limit: number): (chunk: Buffer) => void {
  const params = new Map<number, ParamsStream>();
  let failed = false;
  const decoder = new RecordDecoder((record) => write(describeRecord(record, MARK[dir], params, limit)));
  return (chunk) => {
    if (failed) return;
    try {
      decoder.push(chunk);
    } catch (err) {
      failed = true;
      write(`${MARK[dir]} (not FastCGI records from here on: ${(err as Error).message})\n`);
    }
  };
}

/**
 * describeRecord: a record as text: type, id, lengths and its decoded content. PARAMS content is
 * collected per request id in `params` and its pairs listed when the empty record ends the stream.
 */
export function describeRecord(record: FastCGIRecord, mark: string, params: Map<number, ParamsStream>, limit: number): string {
  const head = `${mark} ${recordTypeName(record.type)} id=${record.requestId} len=${record.contentLength}` +
    (record.paddingLength > 0 ? ` pad=${record.paddingLength}` : '');
  try {
    return `${head}${detail(record, mark, params, limit)}\n`;
  } catch (err) {
    return `${head} (malformed: ${(err as Error).message})\n`;
  }
}

function detail(record: FastCGIRecord, mark: string, params: Map<number, ParamsStream>, limit: number): string {
  const content = record.content;
  switch (record.type) {
    case RecordType.BeginRequest: {
      const body = decodeBeginRequestBody(content);
      return ` role=${roleName(body.role)}${body.flags & FCGI_KEEP_CONN ? ' KEEP_CONN' : ''}` +
        (body.flags & ~FCGI_KEEP_CONN ? ` flags=0x${body.flags.toString(16)}` : '');
    }
    case RecordType.EndRequest: {
      const body = decodeEndRequestBody(content);
      return ` ${protocolStatusName(body.protocolStatus)} appStatus=${body.appStatus}`;
    }
    case RecordType.Params:
      return paramsDetail(record, mark, params);
    case RecordType.GetValues:
    case RecordType.GetValuesResult:
      return decodePairs(content).map(([n, v]) => ` ${n}=${v}`).join('') || ' (none)';
    case RecordType.UnknownType:
      return ` type=${decodeUnknownTypeBody(content)}`;
    default:
      if (content.length === 0) return record.type >= RecordType.Stdin && record.type <= RecordType.Data ? ' (end of stream)' : '';
      return ` "${preview(content, limit)}"`;
  }
}

function paramsDetail(record: FastCGIRecord, mark: string, params: Map<number, ParamsStream>): string {
  let stream = params.get(record.requestId);
  if (record.content.length > 0) {
    if (!stream) params.set(record.requestId, stream = new ParamsStream(Number.MAX_SAFE_INTEGER));
    stream.append(Buffer.from(record.content));
    return '';
  }
  params.delete(record.requestId);
  if (!stream) return ' (end of stream, no params)';
  const pairs = stream.decode();
  const lines = pairs.map(([name, value]) => `\n${mark}     ${name}=${preview(Buffer.from(value, 'latin1'), 2000)}`);
  return ` (end of stream: ${pairs.length} pairs, ${stream.byteLength} bytes)${lines.join('')}`;
}

/** hexDump: `xxd`-style lines (offset from `start`, 16 bytes in hex, printable ASCII), each behind `prefix`. */
export function hexDump(buf: Buffer, prefix = '', start = 0): string {
  let out = '';
  for (let offset = 0; offset < buf.length; offset += 16) {
    const row = buf.subarray(offset, offset + 16);
    let hex = '';
    let text = '';
    for (let i = 0; i < 16; i++) {
      if (i < row.length) {
        hex += row[i]!.toString(16).padStart(2, '0') + (i % 2 === 1 ? ' ' : '');
        text += row[i]! >= 0x20 && row[i]! < 0x7f ? String.fromCharCode(row[i]!) : '.';
      } else {
        hex += i % 2 === 1 ? '   ' : '  ';
      }
    }
    out += `${prefix}${(start + offset).toString(16).padStart(8, '0')}: ${hex} ${text}\n`;
  }
  return out;
}
