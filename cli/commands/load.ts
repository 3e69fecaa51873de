/** `fhirmesh load <files...>` and `fhirmesh seed --patients N`: resources into the fhir-server over its REST API, in batch Bundles. */
import type { Command } from 'commander';
import { syntheticResources } from '../../fhir-server/seed/synthetic.ts';
import { withFhir, type CliContext } from '../context.ts';
import { CliError, ExitCode } from '../errors.ts';
import type { FhirClient } from '../fhir-client.ts';
import { BatchLoader, type LoadTally } from '../load/batch-loader.ts';
import { expandPaths, readResources } from '../load/read-files.ts';
import { positiveNumber } from '../parse.ts';

interface LoadOptions {
  batchSize: number;
  concurrency: number;
}

function loader(ctx: CliContext, fhir: FhirClient, baseUrl: string, opts: LoadOptions): BatchLoader {
  const progress = ctx.io.errIsTTY ? (t: LoadTally) => ctx.io.errRaw(`\r${t.created + t.updated + t.failed} of ${t.resources} resources written`) : undefined;
  return new BatchLoader(fhir, baseUrl, { batchSize: opts.batchSize, concurrency: opts.concurrency, ...(progress ? { onProgress: progress } : {}) });
}

function report(ctx: CliContext, tally: LoadTally, what: string, startedMs: number): void {
  if (ctx.io.errIsTTY) ctx.io.errRaw('\n');
  const seconds = (Date.now() - startedMs) / 1000;
  for (const line of tally.failures) ctx.io.err(`failed: ${line}`);
  if (tally.failed > tally.failures.length) ctx.io.err(`... and ${tally.failed - tally.failures.length} more failures`);
  ctx.io.out(`${what}: ${tally.resources} resources, ${tally.created} created, ${tally.updated} updated, ${tally.failed} failed in ${seconds.toFixed(1)} s`);
  if (tally.failed > 0) throw new CliError(`${tally.failed} of ${tally.resources} resources could not be loaded (see the failures above)`, ExitCode.partial);
}

function batchOptions(command: Command): Command {
  return command
    .option('--batch-size <n>', 'resources per batch Bundle', positiveNumber, 200)
    .option('--concurrency <n>', 'Bundles in flight', positiveNumber, 4);
}

/** Registers `load` and `seed` on `program`. */
export function registerLoad(program: Command, ctx: CliContext): void {
  batchOptions(
    program
      .command('load')
      .description('load FHIR resources into the fhir-server: NDJSON files (one resource per line), .json resources or Bundles, or folders of them; ids are kept (PUT)')
      .argument('<paths...>', '.ndjson / .json files or folders'),
  ).action(async (paths: string[], opts: LoadOptions, cmd: Command) => {
    const files = await expandPaths(paths);
    await withFhir(cmd, ctx, async (fhir, connection) => {
      const started = Date.now();
      const load = loader(ctx, fhir, connection.fhirUrl(), opts);
      for (const file of files) {
        for await (const item of readResources(file)) {
          if ('error' in item) load.reject(item.where, item.error);
          else if ('bundle' in item) await load.addBundle(item.bundle, item.where);
          else await load.add(item.resource, item.where);
        }
      }
      report(ctx, await load.flush(), `loaded ${files.length} file(s)`, started);
    });
  });

  batchOptions(
    program
      .command('seed')
      .description('generate deterministic synthetic patients (about 20 resources each: organizations, practitioners, encounters, observations, ..., one Group) and load them')
      .requiredOption('-p, --patients <n>', 'number of patients', positiveNumber)
      .option('-s, --seed <seed>', 'seed of the data (same seed, same resources and ids)', 'fhirmesh'),
  ).action(async (opts: LoadOptions & { patients: number; seed: string }, cmd: Command) => {
    await withFhir(cmd, ctx, async (fhir, connection) => {
      const started = Date.now();
      const load = loader(ctx, fhir, connection.fhirUrl(), opts);
      for (const resources of syntheticResources({ patients: opts.patients, seed: opts.seed })) {
        for (const resource of resources) await load.add(resource as unknown as Record<string, unknown>, `seed ${opts.seed}`);
      }
      report(ctx, await load.flush(), `seeded ${opts.patients} patients`, started);
    });
  });
}
