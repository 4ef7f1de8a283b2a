/** src/protocol: FastCGI 1.0 wire format only. No I/O, no HTTP. */
export * from './constants';
export * from './errors';
export * from './record';
export * from './pairs';
export * from './encode';
export * from './bodies';
