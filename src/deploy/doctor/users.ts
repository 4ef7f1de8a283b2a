import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WebUser } from './types';

function lines(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** lookupUser: a user from /etc/passwd with its groups from /etc/group, or null. */
export function lookupUser(name: string): WebUser | null {
  const entry = lines('/etc/passwd').find((f) => f[0] === name || f[2] === name);
  if (!entry) return null;
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  const groups = new Set([gid]);
  for (const g of lines('/etc/group')) {
    if ((g[3] ?? '').split(',').includes(entry[0]!)) groups.add(Number(g[2]));
  }
  return { name: entry[0]!, uid, gid, groups: [...groups] };
}

/** Access: the permission bits asked for. */
export type Access = 'r' | 'x' | 'rx';

/**
 * mayAccess: what the mode bits grant `user` (owner, else group, else others: the kernel's order,
 * where a matching class is final). Root may read anything and execute a file with any x bit.
 */
export function mayAccess(path: string, user: WebUser, access: Access): boolean {
  let st;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  const want = (access.includes('r') ? 4 : 0) | (access.includes('x') ? 1 : 0);
  if (user.uid === 0) return !access.includes('x') || st.isDirectory() || (st.mode & 0o111) !== 0;
  let bits: number;
  if (st.uid === user.uid) bits = (st.mode >> 6) & 7;
  else if (user.groups.includes(st.gid)) bits = (st.mode >> 3) & 7;
  else bits = st.mode & 7;
  return (bits & want) === want;
}

/** blockedFolder: the first folder on the way to `path` that `user` cannot search, or null. */
export function blockedFolder(path: string, user: WebUser): string | null {
  const folders: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  return folders.find((f) => !mayAccess(f, user, 'x')) ?? null;
}
