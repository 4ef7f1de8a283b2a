import { statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** SocketFileError: the path is held by a live listener, or is not a socket. */
export class SocketFileError extends Error {
  readonly code: 'ADDR_ERR_IN_USE' | 'ADDR_ERR_NOT_SOCKET';

  constructor(code: 'ADDR_ERR_IN_USE' | 'ADDR_ERR_NOT_SOCKET', message: string) {
    super(message);
    this.name = 'SocketFileError';
    this.code = code;
  }
}

/**
 * removeStaleSocket: clear the way to listen on a Unix socket path. A socket file left by a dead
 * process would make listen() fail with EADDRINUSE, so it is removed; one a live process listens
 * on is not (that would silently steal its path): ADDR_ERR_IN_USE. Anything else at the path is
 * never touched: ADDR_ERR_NOT_SOCKET.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!statSync(path).isSocket()) throw new SocketFileError('ADDR_ERR_NOT_SOCKET', `${path} exists and is not a socket`);
  } catch (err) {
    if (err instanceof SocketFileError) throw err;
    return; // absent
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (live) throw new SocketFileError('ADDR_ERR_IN_USE', `${path} is in use by a running process (another server?)`);
  try {
    unlinkSync(path);
  } catch {
    // removed by someone else meanwhile
  }
}
