#!/usr/bin/env -S node --max-semi-space-size=64
// The routing server, compiled (dist/routing-server). The node flag is the one `npm run routing-server` and
// dev/routing-process.ts use: a larger young generation (scavenges otherwise cost about a third of GetToken throughput).
await import('../dist/routing-server/main.js');
