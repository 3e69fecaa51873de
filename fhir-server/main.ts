/** Runs the fhir-server as a process: `node dist/fhir-server/main.js [--config file.json]` (`npm run fhir-server`, `fhirmesh-fhir-server`). */
import { Command } from 'commander';
import { createLogger } from '../common/logging.ts';
import { stopOnSignals } from '../common/process.ts';
import { startFhirServer } from './app.ts';
import { loadFhirServerConfig, type LoadedConfiguration } from './config/load.ts';
import { CosmosUnreachableAtStart } from './store/cosmos-startup.ts';

const program = new Command('fhir-server')
  .description('FHIR R4 service with Bulk Data $export into Azure Storage via managed-identity tokens')
  .option('-c, --config <file>', 'JSON config file (environment variables override it)', process.env.FHIR_CONFIG)
  .parse();

let loaded: LoadedConfiguration;
try {
  loaded = loadFhirServerConfig(program.opts<{ config?: string }>().config);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger('fhir-server', loaded.settings.logLevel);
const running = await startFhirServer(loaded, logger).catch((err: unknown) => {
  // Cosmos DB unreachable through the start-up wait: one sentence, exit 3 (an orchestrator restarts the process).
  if (!(err instanceof CosmosUnreachableAtStart)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(3);
});
// Scripts wait for this line.
process.stdout.write(`FHIR_READY ${JSON.stringify({ baseUrl: running.baseUrl, grpcAddress: running.grpcAddress })}\n`);
// The stop keeps to shutdownGraceSeconds; should anything hang past it, the process ends anyway (leases then time out).
const hardStopMs = loaded.settings.shutdownGraceSeconds * 1000 + 5_000;
stopOnSignals(
  async () => {
    await running.stop();
  },
  (reason) => {
    if (reason === 'parent-exited') logger.warn('the process that started this one has exited; shutting down');
    else logger.info({ signal: reason, graceSeconds: loaded.settings.shutdownGraceSeconds }, 'shutting down');
    setTimeout(() => {
      logger.error({ afterMs: hardStopMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, hardStopMs).unref();
  },
  (err) => logger.error({ err }, 'shutdown failed'),
);
