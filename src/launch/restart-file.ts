import { statSync } from 'node:fs';

/** mtimeOf: the file's mtime in ms, or -1 when it does not exist (or cannot be read). */
export function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * RestartFile: `touch tmp/restart.txt` asks for a graceful reload (Passenger's convention). It is
 * the way out when the process runs as another user (www-data under mod_fcgid) and cannot be
 * signalled, and the only code reload mod_fcgid offers short of `apache2 -k graceful`: touching
 * dispatch.fcgi itself changes nothing there (FIELD-NOTES "Reload under mod_fcgid").
 *
 * It is checked as requests arrive (one stat each), never by a timer, so an idle process costs
 * nothing and reloads at its next request.
 */
export class RestartFile {
  readonly path: string;
  #baseline: number;

  /** baseline: the mtime already acted on; default the file's mtime now. */
  constructor(path: string, baseline = mtimeOf(path)) {
    this.path = path;
    this.#baseline = baseline;
  }

  get baseline(): number {
    return this.#baseline;
  }

  /**
   * check: the new mtime when the file was touched (or created) since the baseline, else null.
   * The baseline moves on, so each touch is reported once. Removing the file asks for nothing.
   */
  check(): number | null {
    const mtime = mtimeOf(this.path);
    if (mtime < 0 || mtime === this.#baseline) return null;
    this.#baseline = mtime;
    return mtime;
  }

  /** accept: a touch seen elsewhere (by a worker) was acted on; returns whether it was new here. */
  accept(mtime: number): boolean {
    if (mtime === this.#baseline) return false;
    this.#baseline = mtime;
    return true;
  }
}
