/**
 * npm run bench:validation — what validation costs, on the Synthea R4 data
 * (../shared/data/synthea-r4, 1,960 resources), in one process:
 *  - memory: RSS and heap (after a GC) before the definitions, after them, and
 *    after the required-binding value sets were expanded;
 *  - µs per resource, interleaved rounds, best round reported (the machine is
 *    shared): the validation of a write with and without R4 validation, its two
 *    parts (the full walk with invariants, its datatype part), `@medplum/core`'s
 *    own validateResource over the same definitions for reference, and what
 *    an export adds per line (JSON.parse plus the datatype check, against the
 *    JSON.parse the engine does anyway for a filtered export);
 *  - throughput of the Synthea transaction Bundles through `FhirService` into
 *    the Cosmos stand-in (in this process, a fresh database per run), R4
 *    validation on against off, interleaved; the ratio of the best runs.
 * The last line is one JSON object. Options (env): BENCH_ROUNDS (default 7),
 * BENCH_LOAD_ROUNDS (default 3).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCosmosClient } from '../common/cosmos.ts';
import { ensureLocalTls, repoRoot } from '../dev/certs.ts';
import { startCosmos } from '../dev/cosmos/server.ts';
import { r4Definitions } from '../fhir-server/fhir/definitions.ts';
import { FhirService } from '../fhir-server/fhir/fhir-service.ts';
import { openCosmosResourceStore } from '../fhir-server/store/cosmos-resource-store.ts';
import { validateResource } from '../fhir-server/fhir/validate.ts';
import { datatypeIssues, resourceIssues } from '../fhir-server/fhir/validation/resource-check.ts';
import { exportBlockers } from '../fhir-server/fhir/validation/stored-resource.ts';
import { validateResource as medplumValidate } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { requiredBinding } from '../fhir-server/fhir/validation/value-sets.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const loadRounds = Number(process.env.BENCH_LOAD_ROUNDS ?? 3);
const dataDir = join(repoRoot, '..', 'shared', 'data', 'synthea-r4');

function memory(): { rssMiB: number; heapMiB: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMiB: Math.round(rss / 2 ** 20), heapMiB: Math.round(heapUsed / 2 ** 20) };
}

type Body = { resourceType: string; entry?: { resource: Record<string, unknown> }[] };

function readSynthea(): Body[] {
  return readdirSync(dataDir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dataDir, name), 'utf8')) as Body);
}

/** µs per resource of loading `bundles` (directory Bundles first, as the data asks) with R4 validation on or off, into a fresh database. */
async function loadRun(bundles: Body[], r4Validation: boolean, database: string, client: ReturnType<typeof createCosmosClient>): Promise<number> {
  const store = await openCosmosResourceStore(client, { databaseId: database });
  const service = new FhirService(store, { r4Validation });
  const ordered = [...bundles].sort((a, b) => Number(!directory(a)) - Number(!directory(b)));
  let count = 0;
  const t = performance.now();
  for (const bundle of ordered) {
    await service.bundle(structuredClone(bundle), { includeResources: false });
    count += bundle.entry?.length ?? 0;
  }
  return ((performance.now() - t) * 1000) / count;
}

const directory = (b: Body): boolean => (b.entry ?? []).every((e) => e.resource.resourceType === 'Organization' || e.resource.resourceType === 'Practitioner');

const before = memory();
const files = readSynthea();
const bundles = files.filter((b) => b.resourceType === 'Bundle');
const resources = files.flatMap((b) => (b.resourceType === 'Bundle' ? (b.entry ?? []).map((e) => e.resource) : [b as unknown as Record<string, unknown>]));
const lines = resources.map((r) => JSON.stringify(r));
const afterData = memory();
let started = performance.now();
r4Definitions();
const definitionsMs = performance.now() - started;
const afterDefinitions = memory();
started = performance.now();
requiredBinding('http://hl7.org/fhir/ValueSet/administrative-gender');
const valueSetsMs = performance.now() - started;
const afterValueSets = memory();

const cases: Record<string, () => void> = {
  'write, R4 validation on': () => resources.forEach((r) => validateResource(r)),
  'write, R4 validation off': () => resources.forEach((r) => validateResource(r, {}, { r4: false })),
  'R4 check (full walk, invariants)': () => resources.forEach((r) => resourceIssues(r)),
  'R4 check (datatypes only)': () => resources.forEach((r) => datatypeIssues(r)),
  'export line: JSON.parse': () => lines.forEach((l) => JSON.parse(l)),
  'export line: JSON.parse + datatype check': () => lines.forEach((l) => exportBlockers(JSON.parse(l))),
};
const reference: Record<string, () => void> = {
  "@medplum/core's validateResource (reference)": () =>
    resources.forEach((r) => {
      try {
        medplumValidate(r as unknown as Resource);
      } catch {
        // only timing matters here
      }
    }),
};
const best: Record<string, number> = {};
function runRounds(set: Record<string, () => void>): void {
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(set)) {
      const t = performance.now();
      run();
      const us = ((performance.now() - t) * 1000) / resources.length;
      best[name] = Math.min(best[name] ?? Infinity, us);
    }
  }
}
runRounds(cases);
const afterRuns = memory();
runRounds(reference);

const tls = await ensureLocalTls();
const cosmos = await startCosmos({ tls });
const client = createCosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, caPem: tls.caPem });
const load = { raw: Infinity, validated: Infinity };
for (let round = 0; round < loadRounds; round++) {
  load.raw = Math.min(load.raw, await loadRun(bundles, false, `bench-raw-${round}`, client));
  load.validated = Math.min(load.validated, await loadRun(bundles, true, `bench-validated-${round}`, client));
}
client.dispose();
await cosmos.stop();
const ratio = load.raw / load.validated;
process.stdout.write(`${resources.length} Synthea resources, best of ${rounds} rounds, µs per resource:\n`);
for (const [name, us] of Object.entries(best)) process.stdout.write(`  ${name.padEnd(42)} ${us.toFixed(1)}\n`);
process.stdout.write(`transaction Bundles into the Cosmos stand-in, best of ${loadRounds}: raw ${load.raw.toFixed(0)} µs/resource, validated ${load.validated.toFixed(0)} µs/resource, throughput ratio ${ratio.toFixed(2)}\n`);
process.stdout.write(`definitions: ${definitionsMs.toFixed(0)} ms; value sets: ${valueSetsMs.toFixed(0)} ms\n`);
process.stdout.write(`memory (MiB, after GC): start ${JSON.stringify(before)}, data read ${JSON.stringify(afterData)}, definitions ${JSON.stringify(afterDefinitions)}, value sets ${JSON.stringify(afterValueSets)}, after our validation runs ${JSON.stringify(afterRuns)}\n`);
const round1 = (n: number) => Math.round(n * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    resources: resources.length,
    usPerResource: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, round1(v)])),
    transactionLoad: { rawUsPerResource: Math.round(load.raw), validatedUsPerResource: Math.round(load.validated), ratio: Math.round(ratio * 100) / 100 },
    definitionsMs: Math.round(definitionsMs),
    valueSetsMs: Math.round(valueSetsMs),
    memoryMiB: { start: before, data: afterData, definitions: afterDefinitions, valueSets: afterValueSets, afterRuns },
  })}\n`,
);
