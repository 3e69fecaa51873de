/** Runs the routing server as a process: `node --max-semi-space-size=64 dist/routing-server/main.js [--config file.json]` (`npm run routing-server`, `fhirmesh-routing-server`). */
import { Command } from 'commander';
import { createLogger } from '../common/logging.ts';
import { stopOnSignals } from '../common/process.ts';
import { startRoutingServer } from './app.ts';
import { loadRoutingConfig } from './config.ts';

const program = new Command('routing-server')
  .description('Account Routing Service: managed-identity access tokens over gRPC')
  .option('-c, --config <file>', 'JSON config file (environment variables override it)', process.env.ROUTING_CONFIG)
  .parse();

const { config: configFile } = program.opts<{ config?: string }>();
let config;
try {
  config = loadRoutingConfig(configFile);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger('routing-server', config.logLevel);
const running = await startRoutingServer(config, logger);
// Scripts wait for this line.
process.stdout.write(`ROUTING_READY ${JSON.stringify({ address: running.address, port: running.port, metricsUrl: running.metrics?.url })}\n`);
stopOnSignals(
  () => running.stop(),
  (reason) => (reason === 'parent-exited' ? logger.warn('the process that started this one has exited; shutting down') : logger.info({ signal: reason }, 'shutting down')),
  (err) => logger.error({ err }, 'shutdown failed'),
);
