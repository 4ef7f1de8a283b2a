import { type FSWatcher, watch } from 'node:fs';
import { sep } from 'node:path';

/** Path parts that never trigger a reload: dependencies, VCS data, editor and log noise. */
const IGNORED_PART = /^(node_modules|\.git|\.hg|\.svn)$/;
const IGNORED_NAME = /(^\.|~$|\.swp$|\.swx$|\.log$|^4913$)/;

/** isWatchedChange: a changed file (relative to a watched folder) that should reload the app. */
export function isWatchedChange(relative: string): boolean {
  const parts = relative.split(sep);
  if (parts.some((p) => IGNORED_PART.test(p))) return false;
  return !IGNORED_NAME.test(parts[parts.length - 1] ?? '');
}

/** Watching: stop() ends every watcher. */
export interface Watching {
  stop(): void;
}

/**
 * watchFolders: `--watch` (development): call `onChange` once per burst of changes under the
 * folders (recursive fs.watch, Linux inotify since Node 20), `debounceMs` after the last one, so
 * an editor's save-rename-chmod or a `git checkout` reloads once.
 */
export function watchFolders(folders: string[], onChange: (file: string) => void, debounceMs = 250): Watching {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  let last = '';
  for (const folder of folders) {
    try {
      const w = watch(folder, { recursive: true, persistent: false }, (_event, name) => {
        const relative = typeof name === 'string' ? name : '';
        if (relative !== '' && !isWatchedChange(relative)) return;
        last = `${folder}${sep}${relative}`;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          onChange(last);
        }, debounceMs);
      });
      w.on('error', () => {}); // a folder removed under us: nothing more to watch there
      watchers.push(w);
    } catch {
      // a folder that does not exist cannot change
    }
  }
  return {
    stop() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
