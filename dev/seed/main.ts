/**
 * `npm run seed -- --patients N [files...]` (dev/seed/main.ts): fills a FHIR resource store with
 * deterministic synthetic patients and/or FHIR files (NDJSON, Bundles, a Synthea
 * directory), with a progress bar on stderr and the rate at the end.
 *
 * Connection: --endpoint/--key/--ca-file or FHIR_COSMOS_ENDPOINT, FHIR_COSMOS_KEY,
 * FHIR_TRUST_CA_FILE; with none, the local Cosmos stand-in is started for the run
 * (memory only; --keep keeps it serving until Ctrl-C).
 */
import { Command, InvalidArgumentError } from 'commander';
import { FhirService } from '../../fhir-server/fhir/fhir-service.ts';
import { openStore } from './connection.ts';
import { loadFiles } from '../../fhir-server/seed/load-files.ts';
import { ProgressBar } from './progress.ts';
import { estimateResources, seedSynthetic } from '../../fhir-server/seed/seed-synthetic.ts';

/** Parsed command line. */
interface SeedCli {
  patients: number;
  seed: string;
  concurrency: number;
  endpoint?: string;
  key?: string;
  caFile?: string;
  database: string;
  container: string;
  keep: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

const program = new Command()
  .name('seed')
  .description('Load synthetic patients and/or FHIR files (NDJSON, transaction Bundles, a Synthea folder) into the FHIR resource store')
  .argument('[files...]', '.ndjson / .json files or folders of them (a Synthea folder loads hospital and practitioner bundles first)')
  .option('-p, --patients <n>', 'synthetic patients to generate (about 20 resources each)', positiveInt, 0)
  .option('-s, --seed <seed>', 'seed of the synthetic data (same seed, same data)', 'fhirmesh')
  .option('-c, --concurrency <n>', 'write requests in flight', positiveInt, 16)
  .option('--endpoint <url>', 'Cosmos DB endpoint (env FHIR_COSMOS_ENDPOINT); none starts the local stand-in', process.env.FHIR_COSMOS_ENDPOINT)
  .option('--key <key>', 'Cosmos DB key (env FHIR_COSMOS_KEY)', process.env.FHIR_COSMOS_KEY)
  .option('--ca-file <pem>', 'extra CA to trust (env FHIR_TRUST_CA_FILE)', process.env.FHIR_TRUST_CA_FILE)
  .option('--database <id>', 'database (env FHIR_COSMOS_DATABASE)', process.env.FHIR_COSMOS_DATABASE ?? 'fhir')
  .option('--container <id>', 'resource container (env FHIR_COSMOS_RESOURCES_CONTAINER)', process.env.FHIR_COSMOS_RESOURCES_CONTAINER ?? 'resource-versions')
  .option('--keep', 'when the local stand-in was started, keep it running after loading (Ctrl-C stops it)', false);

async function main(): Promise<void> {
  program.parse();
  const files = program.args;
  const cli = program.opts<SeedCli>();
  if (cli.patients === 0 && files.length === 0) program.error('nothing to load: give --patients N and/or files');
  const open = await openStore(cli);
  process.stderr.write(`store: ${open.endpoint} database ${cli.database}${open.standIn ? ' (local stand-in, memory only)' : ''}\n`);
  let failed = false;
  try {
    if (cli.patients > 0) {
      const bar = new ProgressBar(`${cli.patients} patients`, estimateResources(cli.patients));
      const report = await seedSynthetic(open.store, { patients: cli.patients, seed: cli.seed, concurrency: cli.concurrency, onProgress: (n) => bar.update(n) });
      bar.setTotal(report.resources);
      bar.finish();
      const perSecond = report.resources / Math.max(report.ms / 1000, 0.001);
      process.stderr.write(`seeded ${report.resources} resources (${report.created} new, ${report.updated} updated) for ${cli.patients} patients, seed '${cli.seed}', in ${(report.ms / 1000).toFixed(1)} s: ${Math.round(perSecond)} resources/s\n`);
    }
    if (files.length > 0) {
      const started = Date.now();
      const bar = new ProgressBar('files', 0);
      const service = new FhirService(open.store);
      const report = await loadFiles(files, { store: open.store, service }, { bulkConcurrency: cli.concurrency, onProgress: (done, total) => (bar.setTotal(total), bar.update(done)) });
      bar.finish();
      const seconds = (Date.now() - started) / 1000;
      process.stderr.write(`loaded ${report.resources} resources from ${report.files} files in ${seconds.toFixed(1)} s: ${Math.round(report.resources / Math.max(seconds, 0.001))} resources/s\n`);
      for (const failure of report.failures.slice(0, 20)) process.stderr.write(`  failed: ${failure}\n`);
      if (report.failures.length > 20) process.stderr.write(`  ... and ${report.failures.length - 20} more failures\n`);
      failed = report.failures.length > 0;
    }
    if (open.standIn && cli.keep) {
      process.stderr.write(`stand-in serving: endpoint ${open.endpoint} key ${open.key} CA ${open.caFile ?? '-'} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await open.close();
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`seed failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
