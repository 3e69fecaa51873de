/**
 * The account's `ExportJobConfiguration` overrides (fhirmesh.routing.v1, account.proto)
 * and their bounds. The routing server checks them when an account is written; the
 * fhir-server checks them again when it applies them, so both sides enforce one set
 * of bounds.
 */
import { InvalidContractValue } from './invalid-value.ts';
import { normaliseResourceUri } from './resource-uri.ts';

/** Per-account overrides of a FHIR service's export settings; absent = not overridden. */
export interface ExportJobConfigurationOverrides {
  storageAccountUri?: string;
  maximumNumberOfConcurrentJobsAllowed?: number;
  jobHeartbeatTimeoutThresholdSeconds?: number;
  jobPollingFrequencySeconds?: number;
  maximumNumberOfResourcesPerQuery?: number;
  numberOfPagesPerCommit?: number;
  rollingFileSizeInMb?: number;
  maxJobRestartCount?: number;
  defaultContainer?: string;
}

/** Inclusive bounds of the whole-number overrides. */
export const exportOverrideBounds: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  maximumNumberOfConcurrentJobsAllowed: [1, 64],
  jobHeartbeatTimeoutThresholdSeconds: [5, 86_400],
  jobPollingFrequencySeconds: [1, 3_600],
  maximumNumberOfResourcesPerQuery: [1, 10_000],
  numberOfPagesPerCommit: [1, 1_000],
  rollingFileSizeInMb: [1, 100_000],
  maxJobRestartCount: [0, 100],
});

const CONTAINER_RE = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Checks export overrides against the contract's bounds; throws `InvalidContractValue` naming the field. */
export function validateExportOverrides(input: ExportJobConfigurationOverrides | undefined): ExportJobConfigurationOverrides {
  const out: ExportJobConfigurationOverrides = {};
  if (!input) return out;
  for (const [key, [min, max]] of Object.entries(exportOverrideBounds)) {
    const value = (input as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidContractValue(`export_job_configuration.${key} must be an integer from ${min} to ${max}`);
    }
    (out as Record<string, number>)[key] = value;
  }
  if (input.storageAccountUri !== undefined && input.storageAccountUri !== '') {
    try {
      out.storageAccountUri = normaliseResourceUri(input.storageAccountUri);
    } catch (err) {
      throw new InvalidContractValue(`export_job_configuration.storage_account_uri: ${(err as Error).message}`);
    }
  }
  if (input.defaultContainer !== undefined && input.defaultContainer !== '') {
    if (!CONTAINER_RE.test(input.defaultContainer)) {
      throw new InvalidContractValue('export_job_configuration.default_container must be a storage container name (3-63 of a-z, 0-9, "-")');
    }
    out.defaultContainer = input.defaultContainer;
  }
  return out;
}
