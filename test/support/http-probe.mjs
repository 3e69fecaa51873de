// Preloaded into a process under test: counts the HTTP/1.1 requests its main thread starts
// (client) and receives (server), and writes {"client":N,"server":N} to HTTP_PROBE_FILE at exit.
import { writeFileSync } from 'node:fs';
import { subscribe } from 'node:diagnostics_channel';

const file = process.env.HTTP_PROBE_FILE;
if (file) {
  const counts = { client: 0, server: 0 };
  subscribe('http.client.request.start', () => counts.client++);
  subscribe('http.server.request.start', () => counts.server++);
  process.on('exit', () => writeFileSync(file, JSON.stringify(counts)));
}
