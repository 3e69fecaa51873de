/**
 * `ExportJobConfiguration`: the export settings a FHIR service runs with, and
 * the account's overrides of them. Overrides are checked by the routing
 * server's own `validateExportOverrides`, so both sides enforce one set of bounds.
 */
import { validateExportOverrides, type ExportJobConfigurationOverrides } from '../../routing-server/domain/account.ts';
import type { FhirSettings } from './schema.ts';

export type { ExportJobConfigurationOverrides };

/** The effective export settings (see fhirSettingsSchema.export for meanings and defaults). */
export interface ExportJobConfiguration {
  readonly storageAccountUri: string | undefined;
  readonly maximumNumberOfConcurrentJobsAllowed: number;
  readonly maximumNumberOfConcurrentJobsPerClient: number;
  readonly destinationTimeoutSeconds: number;
  readonly jobHeartbeatTimeoutThresholdSeconds: number;
  readonly jobPollingFrequencySeconds: number;
  readonly maximumNumberOfResourcesPerQuery: number;
  readonly numberOfPagesPerCommit: number;
  readonly rollingFileSizeInMb: number;
  readonly maxJobRestartCount: number;
  readonly defaultContainer: string;
  readonly outputExpirySeconds: number;
  readonly manifestSasUrls: boolean;
  readonly sasUrlLifetimeSeconds: number;
}

/** Where an export value came from. */
export type ExportValueSource = 'default' | 'file' | 'environment' | 'account';

/** Export settings the account may override (the fields of `ExportJobConfigurationOverrides`). */
export const overridableExportKeys = [
  'storageAccountUri',
  'maximumNumberOfConcurrentJobsAllowed',
  'jobHeartbeatTimeoutThresholdSeconds',
  'jobPollingFrequencySeconds',
  'maximumNumberOfResourcesPerQuery',
  'numberOfPagesPerCommit',
  'rollingFileSizeInMb',
  'maxJobRestartCount',
  'defaultContainer',
] as const satisfies readonly (keyof ExportJobConfigurationOverrides & keyof ExportJobConfiguration)[];

// Fails to compile when the routing contract gains an override this list does not know.
const everyOverrideKnown: Exclude<keyof ExportJobConfigurationOverrides, (typeof overridableExportKeys)[number]> extends never ? true : never = true;
void everyOverrideKnown;

/** One overridable key. */
export type OverridableExportKey = (typeof overridableExportKeys)[number];

/** Why one export value was refused. */
export interface ExportValueProblem {
  /** The field. */
  key: OverridableExportKey;
  /** What is wrong with it (never the value itself). */
  message: string;
}

const stringKeys: ReadonlySet<OverridableExportKey> = new Set(['storageAccountUri', 'defaultContainer']);

/**
 * Checks each overridable field of `values` on its own, so every bad field is
 * reported; returns the normalised values and the problems.
 */
export function checkExportValues(values: Partial<Record<OverridableExportKey, unknown>>): { values: ExportJobConfigurationOverrides; problems: ExportValueProblem[] } {
  const out: ExportJobConfigurationOverrides = {};
  const problems: ExportValueProblem[] = [];
  for (const key of overridableExportKeys) {
    const value = values[key];
    if (value === undefined || value === null || value === '') continue;
    if (stringKeys.has(key) && typeof value !== 'string') {
      problems.push({ key, message: 'must be a string' });
      continue;
    }
    try {
      Object.assign(out, validateExportOverrides({ [key]: value } as ExportJobConfigurationOverrides));
    } catch (err) {
      // "export_job_configuration.<field> must be ..." / "export_job_configuration.<field>: <why>" -> "must be ..." / "<why>"
      problems.push({ key, message: String((err as Error).message ?? err).replace(/^export_job_configuration\.\w+:?\s*/, '') });
    }
  }
  return { values: out, problems };
}

/** The export block of loaded settings as an `ExportJobConfiguration` (values already checked). */
export function exportFromSettings(settings: FhirSettings, checked: ExportJobConfigurationOverrides): ExportJobConfiguration {
  const e = settings.export;
  return {
    storageAccountUri: checked.storageAccountUri,
    maximumNumberOfConcurrentJobsAllowed: e.maximumNumberOfConcurrentJobsAllowed,
    maximumNumberOfConcurrentJobsPerClient: e.maximumNumberOfConcurrentJobsPerClient,
    destinationTimeoutSeconds: e.destinationTimeoutSeconds,
    jobHeartbeatTimeoutThresholdSeconds: e.jobHeartbeatTimeoutThresholdSeconds,
    jobPollingFrequencySeconds: e.jobPollingFrequencySeconds,
    maximumNumberOfResourcesPerQuery: e.maximumNumberOfResourcesPerQuery,
    numberOfPagesPerCommit: e.numberOfPagesPerCommit,
    rollingFileSizeInMb: e.rollingFileSizeInMb,
    maxJobRestartCount: e.maxJobRestartCount,
    defaultContainer: e.defaultContainer!,
    outputExpirySeconds: e.outputExpirySeconds,
    manifestSasUrls: e.manifestSasUrls,
    sasUrlLifetimeSeconds: e.sasUrlLifetimeSeconds,
  };
}

/** `base` with the account's (checked) overrides on top, and the source of every value. */
export function withOverrides(
  base: ExportJobConfiguration,
  baseSources: Readonly<Record<keyof ExportJobConfiguration, ExportValueSource>>,
  overrides: ExportJobConfigurationOverrides,
): { export: ExportJobConfiguration; sources: Record<keyof ExportJobConfiguration, ExportValueSource> } {
  const merged: Record<string, unknown> = { ...base };
  const sources = { ...baseSources };
  for (const key of overridableExportKeys) {
    const value = overrides[key];
    if (value === undefined) continue;
    merged[key] = value;
    sources[key] = 'account';
  }
  return { export: merged as unknown as ExportJobConfiguration, sources };
}
