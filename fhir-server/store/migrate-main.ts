/**
 * `npm run migrate-store`: moves a FHIR resource store written by an earlier
 * release (layout 1, container `resources`) into this release's layout
 * (migrate.ts). Run it with the fhir-server stopped (it refuses to start on
 * unmigrated data, and the migration refuses while export jobs are running).
 * Connection as the fhir-server's: --endpoint/--key/--ca-file/--database or
 * FHIR_COSMOS_ENDPOINT, FHIR_COSMOS_KEY, FHIR_TRUST_CA_FILE, FHIR_COSMOS_DATABASE.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { createCosmosClient } from '../../common/cosmos.ts';
import { legacyContainerId } from './legacy.ts';
import { migrateLegacyStore } from './migrate.ts';

/** Parsed command line. */
interface MigrateCli {
  endpoint?: string;
  key?: string;
  caFile?: string;
  database: string;
  from: string;
  to: string;
  jobsContainer: string;
  dropSource: boolean;
}

const program = new Command()
  .name('migrate-store')
  .description("Copy a FHIR resource store of an earlier release (layout 1) into this release's layout, then record the migration")
  .option('--endpoint <url>', 'Cosmos DB endpoint (env FHIR_COSMOS_ENDPOINT)', process.env.FHIR_COSMOS_ENDPOINT)
  .option('--key <key>', 'Cosmos DB key (env FHIR_COSMOS_KEY)', process.env.FHIR_COSMOS_KEY)
  .option('--ca-file <pem>', 'extra CA to trust (env FHIR_TRUST_CA_FILE)', process.env.FHIR_TRUST_CA_FILE)
  .option('--database <id>', "the account's database (env FHIR_COSMOS_DATABASE)", process.env.FHIR_COSMOS_DATABASE ?? 'fhir')
  .option('--from <container>', 'container of the earlier layout', legacyContainerId)
  .option('--to <container>', 'container of this layout (env FHIR_COSMOS_RESOURCES_CONTAINER)', process.env.FHIR_COSMOS_RESOURCES_CONTAINER ?? 'resource-versions')
  .option('--jobs-container <container>', 'container of export jobs (env FHIR_COSMOS_JOBS_CONTAINER)', process.env.FHIR_COSMOS_JOBS_CONTAINER ?? 'exportJobs')
  .option('--drop-source', 'delete the earlier container once everything is copied and counted', false);

async function main(): Promise<void> {
  const cli = program.parse().opts<MigrateCli>();
  const { endpoint, key } = cli;
  if (!endpoint || !key) return program.error('give --endpoint and --key (or FHIR_COSMOS_ENDPOINT and FHIR_COSMOS_KEY)');
  const caPem = cli.caFile ? await readFile(cli.caFile, 'utf8') : undefined;
  const client = createCosmosClient({ endpoint, key, caPem });
  try {
    let shown = -1;
    const report = await migrateLegacyStore(client, {
      databaseId: cli.database,
      from: cli.from,
      to: cli.to,
      jobsContainerId: cli.jobsContainer,
      onProgress: (copied, total) => {
        const percent = Math.floor((copied / Math.max(total, 1)) * 100);
        if (percent !== shown) process.stderr.write(`\rcopied ${copied} of ${total} (${(shown = percent)}%)`);
      },
    });
    if (shown >= 0) process.stderr.write('\n');
    if (report.outcome === 'nothing-to-migrate') process.stderr.write(`nothing to migrate: no data of an earlier layout in ${cli.database}/${cli.from}\n`);
    else if (report.outcome === 'already-migrated') process.stderr.write(`${cli.database}/${cli.from} was migrated already; the fhir-server reads ${cli.to}\n`);
    else process.stderr.write(`migrated ${report.live} resources and ${report.deletions} deletions from ${cli.database}/${cli.from} to ${cli.to}\n`);
    if (cli.dropSource && report.outcome !== 'nothing-to-migrate') {
      await client.database(cli.database).container(cli.from).delete();
      process.stderr.write(`deleted the container ${cli.from}\n`);
    }
  } finally {
    client.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`migrate-store failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
