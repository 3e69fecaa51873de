/**
 * Runs the Entra ID stand-in as its own process. Prints one line
 * `ENTRA_READY {"url","tenantId","adminKey",...}` on stdout when listening;
 * logs go to stderr. Stops on SIGINT/SIGTERM.
 *
 *   node --import tsx dev/entra/main.ts [--port N] [--tenant GUID] [--token-lifetime SECONDS]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ensureLocalTls } from '../certs.ts';
import { startEntra } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    tenant: { type: 'string' },
    'token-lifetime': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
  },
});

const logger = pino({ name: 'entra-stand-in', level: values['log-level'] ?? 'info' }, pino.destination(2));
const entra = await startEntra({
  tls: await ensureLocalTls(),
  ...(values.port ? { port: Number(values.port) } : {}),
  ...(values.tenant ? { tenantId: values.tenant } : {}),
  ...(values['token-lifetime'] ? { tokenLifetimeSeconds: Number(values['token-lifetime']) } : {}),
  logger,
});

process.stdout.write(
  `ENTRA_READY ${JSON.stringify({ url: entra.url, tenantId: entra.tenantId, adminKey: entra.adminKey, issuer: entra.issuer(), jwksUri: entra.jwksUri })}\n`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    entra.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
