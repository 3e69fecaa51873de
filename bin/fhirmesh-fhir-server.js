#!/usr/bin/env node
// The fhir-server, compiled (dist/fhir-server).
await import('../dist/fhir-server/main.js');
