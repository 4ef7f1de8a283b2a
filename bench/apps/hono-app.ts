// The Hono workload: a fetch app (DESIGN "The app", kind 2) served by dualcgi's fetch adapter.
import { Hono } from 'hono';

const app = new Hono();
app.get('*', (c) => c.text('Hello, World!\n'));

export = app;
