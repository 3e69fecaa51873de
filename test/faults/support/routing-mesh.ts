/** A fhir-server (in this process) for a provisioned account, pointed at a given routing address (e.g. a fault proxy). */
import { createLogger } from '../../../common/logging.ts';
import { fhirEnvironment, FHIR_API } from '../../../dev/mesh-setup.ts';
import type { ProvisionedAccount, RoutingSetup } from '../../../dev/routing-setup.ts';
import { startFhirServer, type RunningFhirServer } from '../../../fhir-server/app.ts';
import { loadFhirServerConfig } from '../../../fhir-server/config/load.ts';

/** Starts a fhir-server for `account` that reaches the routing server at `routingAddress`, with extra FHIR_* settings. */
export async function startFhirFor(setup: RoutingSetup, account: ProvisionedAccount, routingAddress: string, extra: Record<string, string> = {}): Promise<RunningFhirServer> {
  setup.standIns.entra.registerResource(FHIR_API);
  const env = fhirEnvironment(setup, account, { FHIR_ROUTING_ADDRESS: routingAddress, ...extra });
  const loaded = loadFhirServerConfig(undefined, env);
  return startFhirServer(loaded, createLogger('fhir-server', loaded.settings.logLevel));
}
