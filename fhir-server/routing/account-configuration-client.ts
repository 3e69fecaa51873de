/**
 * `AccountConfigurationClient`: reads the account's own configuration from the
 * routing server (`AccountConfigurationService.GetAccountConfiguration`) with
 * the same authentication and retries as token calls. The FHIR service applies
 * the `ExportJobConfiguration` overrides over its own settings at start-up.
 */
import type { ExportJobConfiguration, FhirAccountProperties } from '../../gen/fhirmesh/routing/v1/account.ts';
import { RoutingCaller, type RoutingCallerOptions, type RoutingCallOptions } from './routing-caller.ts';
import type { RoutingConnection } from './routing-connection.ts';

/** The account's configuration as the routing server keeps it. */
export interface AccountConfiguration {
  /** Service name of the account. */
  accountName: string;
  /** The account's FHIR service settings. */
  fhirProperties: FhirAccountProperties;
  /** Export overrides: only the fields the operator set (an absent field keeps the service's own value). */
  exportJobConfiguration: ExportJobConfiguration;
  /** Resources the account's identity may get tokens for. */
  allowedResourceUris: string[];
  /** Version tag of the account document, to notice changes. */
  etag: string;
}

/** Dependencies of the client. */
export interface AccountConfigurationClientOptions extends RoutingCallerOptions {
  /** The channel to the routing server. */
  connection: RoutingConnection;
}

/** See the module comment. */
export class AccountConfigurationClient {
  /** The call layer (its counters). */
  readonly caller: RoutingCaller;

  /** Creates the client. */
  constructor(private readonly options: AccountConfigurationClientOptions) {
    this.caller = new RoutingCaller(options);
  }

  /** The caller's account configuration; throws `RoutingTokenError` or `RefreshTokenStoreError`. */
  async get(options: RoutingCallOptions = {}): Promise<AccountConfiguration> {
    const client = this.options.connection.accountConfiguration;
    const res = await this.caller.call('AccountConfigurationService/GetAccountConfiguration', client.getAccountConfiguration, client, {}, options);
    const fhirProperties = res.fhirProperties ?? { exportJobConfiguration: undefined };
    const overrides = Object.fromEntries(Object.entries(fhirProperties.exportJobConfiguration ?? {}).filter(([, v]) => v !== undefined)) as ExportJobConfiguration;
    return { accountName: res.accountName, fhirProperties, exportJobConfiguration: overrides, allowedResourceUris: res.allowedResourceUris, etag: res.etag };
  }
}

/** The client as a source of export overrides only (`{ get() }`), the shape the configuration layer's override watcher reads. */
export function accountOverridesSource(client: AccountConfigurationClient): { get(): Promise<ExportJobConfiguration> } {
  return { get: async () => (await client.get()).exportJobConfiguration };
}
