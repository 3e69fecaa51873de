/**
 * Runs the Blob Storage stand-in on its own and prints one line
 * `AZURITE_READY {"blobUrl":…,"accountName":…,"accountKey":…,"caFile":…}` once it listens.
 * Stops cleanly on SIGINT or SIGTERM.
 *
 *   node --import tsx dev/azurite/main.ts [--port N] [--location DIR]
 */
import { parseArgs } from 'node:util';
import { ensureLocalTls } from '../certs.ts';
import { startAzurite, type RunningAzurite } from './server.ts';

const { values } = parseArgs({
  options: { port: { type: 'string' }, location: { type: 'string' }, debug: { type: 'string' } },
});
// Handlers go in first: a signal that arrives while Azurite starts still stops it.
let stopping = false;
let azurite: RunningAzurite | undefined;
const shutdown = () => {
  stopping = true;
  if (azurite) void azurite.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

const tls = await ensureLocalTls();
azurite = await startAzurite({
  tls,
  port: values.port ? Number(values.port) : 0,
  ...(values.location ? { location: values.location } : {}),
  ...(values.debug ? { debugLogFile: values.debug } : {}),
});
if (stopping) shutdown();
else {
  const { blobUrl, accountName, accountKey } = azurite;
  process.stdout.write(`AZURITE_READY ${JSON.stringify({ blobUrl, accountName, accountKey, caFile: tls.caFile })}\n`);
}
