import type { Server } from 'node:net';
/**
 * Address: where a FastCGI server listens or a client connects. Written as `unix:/path.sock`,
 * `HOST:PORT`, `[v6]:PORT` or `:PORT` (every interface, as php-fpm's `listen` means it).
 */
export type Address =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

/** AddressError: an address string that cannot be parsed. code: ADDR_ERR_INVALID. */
export class AddressError extends Error {
  readonly code = 'ADDR_ERR_INVALID';

  constructor(input: string, why: string) {
    super(`invalid address ${JSON.stringify(input)}: ${why} (use unix:/path.sock, HOST:PORT or :PORT)`);
    this.name = 'AddressError';
  }
}

/** parseAddress: `unix:/p`, `host:port`, `[::1]:port`, `:port`. */
export function parseAddress(input: string): Address {
  if (input.startsWith('unix:')) {
    const path = input.slice(5);
    if (path === '') throw new AddressError(input, 'empty socket path');
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(input);
  if (!m) throw new AddressError(input, 'expected HOST:PORT');
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new AddressError(input, 'port out of range');
  const host = m[1] ?? m[2] ?? '';
  return { kind: 'tcp', host, port };
}

/** formatAddress: the inverse of parseAddress. */
export function formatAddress(address: Address): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

/** listeningAddress: where a listening server is, as an Address string ('' before it listens). */
export function listeningAddress(server: Pick<Server, 'address'>): string {
  const a = server.address();
  if (a === null) return '';
  if (typeof a === 'string') return `unix:${a}`;
  return formatAddress({ kind: 'tcp', host: a.address, port: a.port });
}
