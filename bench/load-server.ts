/**
 * The server side of bench:load, run as its own process: the fhir-server's REST
 * app as fhir-server/app.ts composes it (buildApp, FhirService, SearchService,
 * the Cosmos store), over HTTPS with the local certificates, against the Cosmos
 * stand-in given by the parent. Left out, because they cost the same per
 * request whatever the mode: bearer-token checks, request logging, metrics, the
 * export engine and the routing link.
 *
 * Modes:
 *  - `full`: as deployed (R4 validation on, search index extracted at write time);
 *  - `raw`: both off through their benchmark-only switches (`r4Validation: false`
 *    on the service, `setSearchIndexing(false)`), so the same transaction path
 *    writes the documents without `idx` and without the R4 walk (docs/benchmarks.md).
 *
 * Usage: node dist/bench/load-server.js <full|raw> <cosmosEndpoint> <caFile> <certFile> <keyFile> <databaseId>
 * Prints `LOAD_SERVER_READY {"baseUrl":...}`.
 */
import { readFileSync } from 'node:fs';
import { createCosmosClient } from '../common/cosmos.ts';
import { stopOnSignals } from '../common/process.ts';
import { emulatorKey } from '../dev/cosmos/server.ts';
import { CapabilityRegistry } from '../fhir-server/fhir/capabilities.ts';
import { FhirService } from '../fhir-server/fhir/fhir-service.ts';
import { warmFhirDefinitions } from '../fhir-server/fhir/warm-up.ts';
import { buildApp } from '../fhir-server/http/app.ts';
import { setSearchIndexing } from '../fhir-server/search/search-index.ts';
import { SearchService } from '../fhir-server/search/search-service.ts';
import { cosmosSearchSource } from '../fhir-server/search/search-source.ts';
import { openCosmosResourceStore } from '../fhir-server/store/cosmos-resource-store.ts';

const [mode, endpoint, caFile, certFile, keyFile, databaseId] = process.argv.slice(2);
if ((mode !== 'full' && mode !== 'raw') || !endpoint || !caFile || !certFile || !keyFile || !databaseId) {
  process.stderr.write('usage: load-server <full|raw> <cosmosEndpoint> <caFile> <certFile> <keyFile> <databaseId>\n');
  process.exit(2);
}
const full = mode === 'full';
// As the fhir-server does before it serves (both modes: the tables are built either way).
warmFhirDefinitions();
if (!full) setSearchIndexing(false);
const cosmos = createCosmosClient({ endpoint, key: emulatorKey, caPem: readFileSync(caFile, 'utf8') });
const store = await openCosmosResourceStore(cosmos, { databaseId });
const app = buildApp({
  service: new FhirService(store, { r4Validation: full }),
  search: new SearchService(cosmosSearchSource(store.container)),
  capabilities: new CapabilityRegistry(),
  https: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') },
  baseUrl: 'https://127.0.0.1',
});
await app.listen({ host: '127.0.0.1', port: 0 });
const { port } = app.server.address() as { port: number };
process.stdout.write(`LOAD_SERVER_READY ${JSON.stringify({ baseUrl: `https://127.0.0.1:${port}` })}\n`);
// Stops on SIGTERM, or when the benchmark that started it is gone (FHIRMESH_PARENT_PID).
stopOnSignals(async () => {
  await app.close();
  await store.close();
  cosmos.dispose();
});
