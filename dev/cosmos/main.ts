/**
 * Runs the Cosmos DB stand-in as its own process.
 *
 * Prints one line `COSMOS_READY {"endpoint":…,"key":…,"caFile":…}` once it listens,
 * and exits cleanly on SIGINT/SIGTERM. `COSMOS_PORT` picks the port (default: any free one).
 * `COSMOS_HEAP_MB` sets the heap limit (default: half the machine's memory, 4–16 GiB; see heap.ts).
 */
import { fileURLToPath } from 'node:url';
import { ensureLocalTls } from '../certs.ts';
import { runWithHeapRoom, stopWithParent } from './heap.ts';
import { startCosmos } from './server.ts';

if (!runWithHeapRoom(fileURLToPath(import.meta.url))) {
  const tls = await ensureLocalTls();
  const cosmos = await startCosmos({ tls, port: Number(process.env.COSMOS_PORT ?? 0) });
  process.stdout.write(`COSMOS_READY ${JSON.stringify({ endpoint: cosmos.endpoint, key: cosmos.key, caFile: tls.caFile })}\n`);

  const shutdown = (): void => {
    // Exit even when a long query or a busy collector holds up closing the connections.
    setTimeout(() => process.exit(0), 5_000).unref();
    cosmos.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  stopWithParent(shutdown);
}
