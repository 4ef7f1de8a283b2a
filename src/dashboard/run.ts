import type { Server, Socket } from 'node:net';
import { listenForTraces } from '../trace/listener';
import type { GroupItem } from '../trace/group-scan';
import type { ReadItem } from '../trace/reader';
import type { ListenSpec } from './listen';
import { DashboardStore } from './store/dashboard-store';
import { DashboardApp, type ScreenOptions } from './app';

/** DashboardOptions: the command's flags, normalised. */
export interface DashboardOptions extends ScreenOptions {
  listen: ListenSpec;
  maxRequests: number;
  showSecrets: boolean;
}

/** RunningDashboard: a dashboard on screen; `done` resolves when the user quits. */
export interface RunningDashboard {
  store: DashboardStore;
  done: Promise<void>;
  /** quit: as if `q` was pressed. */
  quit(): void;
}

/**
 * runDashboard: listen on the trace socket (before touching the terminal, so a socket in use is
 * a plain error message), then draw. Quitting closes the socket, which removes its file.
 */
export async function runDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const store = new DashboardStore({ maxRequests: options.maxRequests });
  let onItem = (item: ReadItem | GroupItem): void => store.ingest(item);
  // summaries: a grouped request line comes as its summary and the line (group-scan.ts says why).
  const server: Server = await listenForTraces(options.listen.path, (item: ReadItem | GroupItem) => onItem(item), { ...options.listen.options, summaries: true });
  // Producers keep their connections open, and close() waits for them: track them to end them.
  const producers = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    producers.add(socket);
    socket.on('close', () => producers.delete(socket));
  });
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let quitting = false;
  const quit = (): void => {
    if (quitting) return;
    quitting = true;
    for (const signal of signals) process.off(signal, quit);
    app.destroy();
    server.close(() => resolveDone());
    for (const socket of producers) socket.destroy();
  };
  const app = new DashboardApp(store, { ...options, listen: options.listen.path, onQuit: quit });
  onItem = (item) => {
    store.ingest(item);
    app.changed();
  };
  // C-c in the terminal is a key (raw mode); these come from outside, and must restore the terminal too.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, quit);
  return { store, done, quit };
}
