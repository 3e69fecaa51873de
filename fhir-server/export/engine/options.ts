/**
 * `ExportJobConfiguration`: the export settings, named as the routing contract's
 * `ExportJobConfigurationOverrides` name them, with the documented defaults of
 * the settings schema (fhir-server/config/schema.ts, their one source), plus a
 * few engine-internal knobs (byte sizes for tests, item splitting).
 */
import { exportSettingDefaults } from '../../config/schema.ts';
import { ExportError } from '../ports.ts';

/** The account-level export settings (what an account's overrides may change). */
export interface ExportJobConfiguration {
  /** Queued + running jobs the account may have; also the work items one instance runs at once. */
  maximumNumberOfConcurrentJobsAllowed: number;
  /** A lease whose heartbeat is older than this is taken over by another worker. */
  jobHeartbeatTimeoutThresholdSeconds: number;
  /** How often an idle worker looks for work (fractions allowed). */
  jobPollingFrequencySeconds: number;
  /** Page size of the store scans. */
  maximumNumberOfResourcesPerQuery: number;
  /** Pages between two checkpoints of a work item. */
  numberOfPagesPerCommit: number;
  /** A file is closed and a new one started once it reaches this size. */
  rollingFileSizeInMb: number;
  /** Lease takeovers and retried failures a job survives; one more fails it. */
  maxJobRestartCount: number;
  /** Default storage account URL (destination kind `default`). */
  storageAccountUri?: string;
  /** Container used when a default destination names none. */
  defaultContainer: string;
  /** How long output is kept after the job ends (manifest `expireTime`), in seconds. */
  outputExpirySeconds: number;
  /** Lifetime of a file's read SAS URL (`fileSasUrl`), in seconds. */
  sasUrlLifetimeSeconds: number;
  /** Queued + running jobs one client (caller principal) may have; absent: only the account limit. Default in the config schema. */
  maximumNumberOfConcurrentJobsPerClient?: number;
  /** A destination (Blob Storage, Key Vault) that completes no request of a job for this long fails it (504); absent: never. Default in the config schema. */
  destinationTimeoutSeconds?: number;
  /** Storage tokens missing this long (routing.tokenWaitSeconds) fail the job (504); absent: retried as restarts. */
  tokenWaitSeconds?: number;
}

/** Engine options: the configuration plus internal knobs. */
export interface ExportEngineOptions extends ExportJobConfiguration {
  /** Overrides `rollingFileSizeInMb` in bytes (tests use sub-MiB files). */
  rollingFileSizeBytes?: number;
  /** Size at which a buffered block is staged (default 4 MiB). */
  blockSizeBytes: number;
  /** Resources per work item: a type with more is split into bucket ranges of about this many each (at most 256 items per type). */
  itemSplitThreshold: number;
  /** Patients per item of a Patient/Group export with an explicit patient list. */
  compartmentChunkSize: number;
  /** `Retry-After` of a too-many-jobs refusal. */
  tooManyJobsRetryAfterSeconds: number;
}

/** Defaults of {@link ExportEngineOptions}: the settings schema's, then the internal knobs'. */
export const exportDefaults: Readonly<ExportEngineOptions> = Object.freeze({
  maximumNumberOfConcurrentJobsAllowed: exportSettingDefaults.maximumNumberOfConcurrentJobsAllowed,
  jobHeartbeatTimeoutThresholdSeconds: exportSettingDefaults.jobHeartbeatTimeoutThresholdSeconds,
  jobPollingFrequencySeconds: exportSettingDefaults.jobPollingFrequencySeconds,
  maximumNumberOfResourcesPerQuery: exportSettingDefaults.maximumNumberOfResourcesPerQuery,
  numberOfPagesPerCommit: exportSettingDefaults.numberOfPagesPerCommit,
  rollingFileSizeInMb: exportSettingDefaults.rollingFileSizeInMb,
  maxJobRestartCount: exportSettingDefaults.maxJobRestartCount,
  defaultContainer: exportSettingDefaults.defaultContainer,
  outputExpirySeconds: exportSettingDefaults.outputExpirySeconds,
  sasUrlLifetimeSeconds: exportSettingDefaults.sasUrlLifetimeSeconds,
  blockSizeBytes: 4 * 1024 * 1024,
  itemSplitThreshold: 25_000,
  compartmentChunkSize: 500,
  tooManyJobsRetryAfterSeconds: 30,
});

const positive: Array<keyof ExportEngineOptions> = [
  'maximumNumberOfConcurrentJobsAllowed',
  'jobHeartbeatTimeoutThresholdSeconds',
  'jobPollingFrequencySeconds',
  'maximumNumberOfResourcesPerQuery',
  'numberOfPagesPerCommit',
  'rollingFileSizeInMb',
  'blockSizeBytes',
  'itemSplitThreshold',
  'compartmentChunkSize',
  'outputExpirySeconds',
  'sasUrlLifetimeSeconds',
];

/** Defaults overlaid with `overrides` (undefined fields ignored), validated and frozen. */
export function resolveExportOptions(overrides: Partial<ExportEngineOptions> = {}): Readonly<ExportEngineOptions> {
  const options: Record<string, unknown> = { ...exportDefaults };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) options[key] = value;
  const out = options as unknown as ExportEngineOptions;
  const problems = positive.filter((key) => !(typeof out[key] === 'number' && (out[key] as number) > 0)).map((key) => `${key} must be a positive number`);
  if (!Number.isInteger(out.maxJobRestartCount) || out.maxJobRestartCount < 0) problems.push('maxJobRestartCount must be a whole number ≥ 0');
  if (out.rollingFileSizeBytes !== undefined && !(out.rollingFileSizeBytes > 0)) problems.push('rollingFileSizeBytes must be positive');
  for (const key of ['maximumNumberOfConcurrentJobsPerClient', 'destinationTimeoutSeconds', 'tokenWaitSeconds'] as const) {
    if (out[key] !== undefined && !((out[key] as number) > 0)) problems.push(`${key} must be a positive number`);
  }
  if (problems.length > 0) throw new ExportError('invalid', `export configuration: ${problems.join('; ')}`);
  return Object.freeze(out);
}

/** Bytes at which a file is rolled. */
export function rollingBytes(options: ExportEngineOptions): number {
  return options.rollingFileSizeBytes ?? Math.round(options.rollingFileSizeInMb * 1024 * 1024);
}
