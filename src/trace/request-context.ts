import { AsyncLocalStorage } from 'node:async_hooks';

/** requestContext: which request the running code serves (set only while tracing). */
export const requestContext = new AsyncLocalStorage<string>();
