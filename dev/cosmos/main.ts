/**
 * Runs the Cosmos DB stand-in as its own process.
 *
 * Prints one line `COSMOS_READY {"endpoint":…,"key":…,"caFile":…}` once it listens,
 * and exits cleanly on SIGINT/SIGTERM. `COSMOS_PORT` picks the port (default: any free one).
 */
import { ensureLocalTls } from '../certs.ts';
import { startCosmos } from './server.ts';

const tls = await ensureLocalTls();
const cosmos = await startCosmos({ tls, port: Number(process.env.COSMOS_PORT ?? 0) });
process.stdout.write(`COSMOS_READY ${JSON.stringify({ endpoint: cosmos.endpoint, key: cosmos.key, caFile: tls.caFile })}\n`);

const shutdown = (): void => {
  cosmos.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
