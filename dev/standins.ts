/**
 * The one programmatic entry to the local Azure stand-ins: creates the local CA
 * and certificates, starts Entra ID, Key Vault, Cosmos DB and Blob Storage
 * (Azurite) on free loopback ports, and returns their endpoints, the CA and a
 * stop function. Tests, benchmarks and `npm start` all use it.
 */
import { startAzurite, type RunningAzurite } from './azurite/server.ts';
import { ensureLocalTls, type LocalTls } from './certs.ts';
import { startCosmos, type RunningCosmos } from './cosmos/server.ts';
import { startEntra, type EntraStandIn } from './entra/index.ts';
import { startKeyVault } from './keyvault/server.ts';
import type { KeyVaultStandIn } from './keyvault/types.ts';

/** Options of the stand-ins. */
export interface StandInsOptions {
  /** Lifetime of tokens the Entra stand-in issues (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Fixed tenant id (default: a new one per start). */
  tenantId?: string;
  /** Where Azurite keeps blobs (default: memory). */
  blobLocation?: string;
}

/** The running stand-ins. */
export interface StandIns {
  /** Local CA and loopback certificate. */
  tls: LocalTls;
  /** Entra ID stand-in. */
  entra: EntraStandIn;
  /** Key Vault stand-in. */
  keyVault: KeyVaultStandIn;
  /** Cosmos DB stand-in. */
  cosmos: RunningCosmos;
  /** Blob Storage (Azurite). */
  blob: RunningAzurite;
  /** Stops all of them (in reverse order). */
  stop(): Promise<void>;
}

/** Starts the four stand-ins; if one fails to start, the others are stopped and the error rethrown. */
export async function startStandIns(options: StandInsOptions = {}): Promise<StandIns> {
  const tls = await ensureLocalTls();
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const [entra, cosmos, blob] = await Promise.all([
      startEntra({ tls, tokenLifetimeSeconds: options.tokenLifetimeSeconds, tenantId: options.tenantId }).then((s) => (started.push(s), s)),
      startCosmos({ tls }).then((s) => (started.push(s), s)),
      startAzurite({ tls, location: options.blobLocation }).then((s) => (started.push(s), s)),
    ]);
    const keyVault = await startKeyVault({
      tls,
      entra: { jwksUri: entra.jwksUri, issuer: entra.issuer(), tenantId: entra.tenantId, authorityHost: entra.authorityHost },
    });
    started.push(keyVault);
    return { tls, entra, keyVault, cosmos, blob, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
