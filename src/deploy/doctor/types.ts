/** Finding: one check's result. Problems carry the fix; passes are listed so the report shows what was checked. */
export interface Finding {
  /** code: stable, for tests and scripts (DOCTOR_*). */
  code: string;
  ok: boolean;
  message: string;
  fix?: string;
  /** detail: extra lines shown under the problem (a stack). */
  detail?: string;
}

/** WebUser: who the web server runs the script as. */
export interface WebUser {
  name: string;
  uid: number;
  gid: number;
  /** groups: primary and supplementary gids. */
  groups: number[];
}

/** DoctorContext: what is checked, normalised once. */
export interface DoctorContext {
  /** script: the entry script (absolute). */
  script: string;
  /** dir: its folder (where the .htaccess and the restart file live). */
  dir: string;
  /** server: 'apache' checks the .htaccess; 'other' (nginx, lighttpd) does not. */
  server: 'apache' | 'other';
  /** user: the web server's user, or null when unknown (permission checks are skipped). */
  user: WebUser | null;
  /** path: the URL path the synthetic requests ask for. */
  path: string;
  /** timeoutMs: per synthetic request. */
  timeoutMs: number;
}

export function problem(code: string, message: string, fix: string): Finding {
  return { code, ok: false, message, fix };
}

export function pass(code: string, message: string): Finding {
  return { code, ok: true, message };
}
