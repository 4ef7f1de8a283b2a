import type { RequestEntry } from './requests';

/** RequestFilter: a parsed filter; `test` is what the list applies to every request. */
export interface RequestFilter {
  text: string;
  test(entry: RequestEntry): boolean;
}

type Predicate = (entry: RequestEntry) => boolean;

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND']);

/**
 * parseFilter: the text typed after `/`. Space-separated terms, all of which must match; `!` negates
 * a term. Terms: `status:5xx` `status:404` (or bare `5xx`, `404`), `method:POST` (or bare `POST`),
 * `mode:cgi` (or bare `cgi`, `fcgi`), `pid:123`, `is:error` `is:open` `is:aborted`, `path:/x`; any
 * other word matches the path (case-insensitive substring of the request URI).
 */
export function parseFilter(text: string): RequestFilter {
  const terms = text.trim().split(/\s+/).filter((t) => t !== '');
  const predicates = terms.map(parseTerm);
  return {
    text: text.trim(),
    test: (entry) => predicates.every((p) => p(entry)),
  };
}

function parseTerm(term: string): Predicate {
  if (term.startsWith('!') && term.length > 1) {
    const inner = parseTerm(term.slice(1));
    return (e) => !inner(e);
  }
  const colon = term.indexOf(':');
  const key = colon > 0 ? term.slice(0, colon).toLowerCase() : '';
  const value = colon > 0 ? term.slice(colon + 1) : term;
  switch (key) {
    case 'status': case 's': return statusTerm(value) ?? pathTerm(term);
    case 'method': case 'm': return (e) => e.method.toUpperCase() === value.toUpperCase();
    case 'mode': return (e) => e.mode.toLowerCase() === value.toLowerCase();
    case 'pid': return (e) => String(e.pid) === value;
    case 'is': return isTerm(value.toLowerCase()) ?? pathTerm(term);
    case 'path': case 'uri': return pathTerm(value);
    default: return bareTerm(term);
  }
}

function bareTerm(term: string): Predicate {
  const status = statusTerm(term);
  if (status) return status;
  if (methods.has(term)) return (e) => e.method === term;
  if (term === 'cgi' || term === 'fcgi') return (e) => e.mode === term;
  return pathTerm(term);
}

/** statusTerm: `404`, `4xx`, `4XX`, `40x`; undefined when the term is not a status pattern. */
function statusTerm(value: string): Predicate | undefined {
  if (!/^[1-5][0-9xX]{2}$/.test(value)) return undefined;
  const pattern = new RegExp(`^${value.toLowerCase().replace(/x/g, '[0-9]')}$`);
  return (e) => e.status !== undefined && pattern.test(String(e.status));
}

function isTerm(value: string): Predicate | undefined {
  switch (value) {
    case 'error': case 'err': return (e) => e.errors.length > 0 || (e.status !== undefined && e.status >= 500);
    case 'open': return (e) => !e.done;
    case 'aborted': return (e) => e.aborted;
    default: return undefined;
  }
}

function pathTerm(value: string): Predicate {
  const needle = value.toLowerCase();
  return (e) => e.uri.toLowerCase().includes(needle);
}
