import { fstatSync, readFileSync } from 'node:fs';

/** Fd0Kind: what file descriptor 0 is, as far as mode detection cares. */
export type Fd0Kind =
  | { kind: 'listening'; family: 'unix' | 'tcp' }
  | { kind: 'connected-socket' }
  /** socket: a socket whose state could not be read (no /proc): treated as listening by name only. */
  | { kind: 'socket' }
  | { kind: 'tty' }
  | { kind: 'pipe' }
  | { kind: 'file' }
  | { kind: 'none' };

/**
 * inspectFd0: is fd 0 a listening socket (SO_ACCEPTCONN)? Node has no getsockopt, so the socket's
 * inode is looked up in the kernel's socket tables: /proc/net/unix (flag __SO_ACCEPTCON, 0x10000)
 * and /proc/net/tcp{,6} (state 0A, LISTEN). A connected socket (mod_cgid) is not FastCGI.
 */
export function inspectFd0(fd = 0): Fd0Kind {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return { kind: 'none' };
  }
  if (st.isCharacterDevice()) {
    // Linux major 1 is /dev/null, /dev/zero and the like, never a terminal: answered without
    // loading node:tty (a CGI hit's stdin is often /dev/null; bench/ cgi suite).
    if (process.platform === 'linux' && ((st.rdev >> 8) & 0xfff) === 1) return { kind: 'file' };
    return require('node:tty').isatty(fd) ? { kind: 'tty' } : { kind: 'file' };
  }
  if (st.isFIFO()) return { kind: 'pipe' };
  if (!st.isSocket()) return { kind: 'file' };
  const inode = String(st.ino);
  const tables = readTable('/proc/net/unix');
  if (tables.length === 0) return { kind: 'socket' };
  if (unixListening(inode, tables)) return { kind: 'listening', family: 'unix' };
  if (tcpListening(inode, '/proc/net/tcp') || tcpListening(inode, '/proc/net/tcp6')) {
    return { kind: 'listening', family: 'tcp' };
  }
  return { kind: 'connected-socket' };
}

function readTable(path: string): string[] {
  try {
    return readFileSync(path, 'latin1').split('\n').slice(1);
  } catch {
    return [];
  }
}

/** /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path". */
function unixListening(inode: string, table: string[]): boolean {
  for (const line of table) {
    const cols = line.trim().split(/\s+/);
    if (cols[6] === inode) return (parseInt(cols[3] ?? '0', 16) & 0x10000) !== 0;
  }
  return false;
}

/** /proc/net/tcp: "sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ...". */
function tcpListening(inode: string, path: string): boolean {
  for (const line of readTable(path)) {
    const cols = line.trim().split(/\s+/);
    if (cols[9] === inode) return cols[3] === '0A';
  }
  return false;
}
