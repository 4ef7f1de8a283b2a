/**
 * The request mapping's options as the wire mirror's readers need them (wire-decode.ts maps a
 * request's params to its URL and mount point as the serving process does). A module of its own,
 * without imports: the exchange handler sets them, and a CGI hit loads that handler.
 */

/** WireTargetOptions: cgi/request-head.ts RequestHeadOptions, normalised. */
export interface WireTargetOptions {
  stripMountPoint: boolean;
  scriptFile: string | undefined;
}

let targetJson = '{"strip":true}';

/** setWireTargetOptions: the serving process's request mapping options (set once per handler). */
export function setWireTargetOptions(options: WireTargetOptions): void {
  targetJson = JSON.stringify({ strip: options.stripMountPoint, ...(options.scriptFile !== undefined ? { script: options.scriptFile } : {}) });
}

/** wireTargetJson: the options as the `target` field of a wire line. */
export function wireTargetJson(): string {
  return targetJson;
}
