/**
 * importEsm: Node's ES module loader for one file URL. On its own, not in load-app: a module that
 * calls dynamic import cannot be compiled through the CGI compile cache (launch/compile-cache), so
 * it stays out of the CGI bundle and loads only for an ES module app.
 */
export function importEsm(url: string): Promise<Record<string, unknown>> {
  return import(url) as Promise<Record<string, unknown>>;
}
