import { httpHeadToCgi } from '../cgi/response-head';

/**
 * cgiHeadOf: httpHeadToCgi with the last head remembered. An app's responses to one route are
 * mostly the same head from one request to the next (hello: status line, Content-Type,
 * Content-Length), and node:http builds it afresh each time as a string of many pieces: one string
 * compare (V8 flattens the head for it, as the conversion's regular expression did) then stands in
 * for the search for dropped lines, the slice and the concatenation, and the CGI head is handed
 * out flat, written into the output with one copy.
 * What it buys: ~1k instructions per hello request under callgrind (the regular expression, its
 * flattening and the slice; the compare costs ~0.3k of it back; bench/README.md, nginx,
 * "Eighth session").
 */
export function cgiHeadOf(httpHead: string): string {
  if (httpHead === lastHttpHead) {
    // Flattened once it is asked for again: an app whose heads always differ (a Set-Cookie, an
    // ETag) pays the compare and nothing more.
    if (!lastFlat) {
      lastCgiHead = flat(lastCgiHead);
      lastFlat = true;
    }
    return lastCgiHead;
  }
  lastHttpHead = httpHead;
  lastCgiHead = httpHeadToCgi(httpHead);
  lastFlat = false;
  return lastCgiHead;
}

let lastHttpHead: string | null = null;
let lastCgiHead = '';
let lastFlat = false;

/**
 * flat: the same characters as one flat string (V8 keeps a concatenation as a tree of pieces until
 * something flattens it; every response would otherwise walk the tree to write it). Heads are
 * latin1 (node:http checks their characters), so the round trip is exact.
 */
function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}
