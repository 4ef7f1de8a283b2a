import { fstatSync, readFileSync } from 'node:fs';

/**
 * procStartTicks: the process's start time in clock ticks since boot (/proc/PID/stat field 22).
 * With the pid it names one process for good: a pid reused by another process has another start
 * time, so a stale status file never gets a signal sent to a stranger.
 */
export function procStartTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

/** procUid: the real uid of a process, or null when it is gone. */
export function procUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** isSameProcess: `pid` still runs and is the process that started at `startTicks`. */
export function isSameProcess(pid: number, startTicks: number): boolean {
  return procStartTicks(pid) === startTicks;
}

/** currentUid: this process's uid (0 where getuid does not exist). */
export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** userName: the name of a uid from /etc/passwd, else the number. */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(uid) && f[0]) return f[0];
    }
  } catch {
    // no passwd file: show the number
  }
  return String(uid);
}

/**
 * unixSocketPath: the name a Unix socket on `fd` was bound to, from /proc/net/unix (for `ps`: the
 * socket mod_fcgid or spawn-fcgi created). Null for an unnamed or non-Unix socket.
 */
export function unixSocketPath(fd: number): string | null {
  let inode: string;
  try {
    inode = String(fstatSync(fd).ino);
  } catch {
    return null;
  }
  try {
    for (const line of readFileSync('/proc/net/unix', 'latin1').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[6] === inode) return cols[7] ?? null;
    }
  } catch {
    // no /proc: no name
  }
  return null;
}
