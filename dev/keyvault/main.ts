/**
 * Runs the Key Vault stand-in as its own process, trusting the tokens of an
 * Entra stand-in tenant. Prints one line `KEYVAULT_READY {"url","adminKey"}`
 * on stdout when listening; logs go to stderr. Stops on SIGINT/SIGTERM.
 *
 *   node --import tsx dev/keyvault/main.ts --entra-url https://127.0.0.1:PORT --tenant GUID [--port N]
 *   (or ENTRA_URL / ENTRA_TENANT_ID in the environment)
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ensureLocalTls } from '../certs.ts';
import { startKeyVault } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'entra-url': { type: 'string' },
    tenant: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
  },
});

const entraUrl = (values['entra-url'] ?? process.env.ENTRA_URL ?? '').replace(/\/+$/, '');
const tenantId = values.tenant ?? process.env.ENTRA_TENANT_ID ?? '';
if (!entraUrl || !tenantId) {
  process.stderr.write('usage: dev/keyvault/main.ts --entra-url URL --tenant GUID [--port N]\n');
  process.exit(2);
}

const logger = pino({ name: 'keyvault-stand-in', level: values['log-level'] ?? 'info' }, pino.destination(2));
const vault = await startKeyVault({
  tls: await ensureLocalTls(),
  ...(values.port ? { port: Number(values.port) } : {}),
  entra: {
    jwksUri: `${entraUrl}/${tenantId}/discovery/v2.0/keys`,
    issuer: `https://sts.windows.net/${tenantId}/`,
    tenantId,
    authorityHost: entraUrl,
  },
  logger,
});

process.stdout.write(`KEYVAULT_READY ${JSON.stringify({ url: vault.url, adminKey: vault.adminKey })}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    vault.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
