/**
 * What the export front doors accept and how they answer: the features the
 * engine supports (unsupported ones are refused in strict handling and noted
 * in lenient handling), the default container, polling hints.
 */
import { exportSettingDefaults } from '../../config/schema.ts';
import { isContainerName } from './destination-spec.ts';

/** Optional kick-off features and whether the engine supports them. */
export interface ExportFeatures {
  /** `_elements`. */
  elements: boolean;
  /** `_typeFilter`. */
  typeFilter: boolean;
  /** `patient` (POST, Patient and Group export). */
  patient: boolean;
  /** `_until`. */
  until: boolean;
  /** `includeAssociatedData` values supported (the IG's codes and any `_custom` ones). */
  includeAssociatedData: readonly string[];
}

/** Settings of the kick-off parser. */
export interface KickoffOptions {
  /** Container of the default storage account when the request names none. */
  defaultContainer: string;
  /** Supported features. */
  features: ExportFeatures;
  /** The clock (tests pin it); `_since` after it is refused. */
  now: () => Date;
}

/** Settings of the REST routes and the gRPC service beyond parsing. */
export interface FacadeOptions extends KickoffOptions {
  /** Longest `Retry-After` of a 202 status answer, in seconds (it follows the job's age and progress: status-pacing.ts). */
  maxStatusRetryAfterSeconds: number;
  /** `Retry-After` of a 429 kick-off answer when the engine gives none, in seconds. */
  throttledRetryAfterSeconds: number;
  /** Manifest URLs are short-lived SAS URLs (`ExportJobs.fileSasUrl`) instead of download routes needing the bearer token. */
  manifestSasUrls: boolean;
  /** Status polls of one job closer together than this get 429 with `Retry-After` (0: never). */
  minimumPollIntervalSeconds: number;
}

/** The IG's `includeAssociatedData` codes. */
export const associatedDataCodes: readonly string[] = Object.freeze(['LatestProvenanceResources', 'RelevantProvenanceResources']);

/** The `includeAssociatedData` values the export engine implements: the IG's codes, earlier versions (`_history`) and deleted resources (`_deleted`). */
export const serverAssociatedData: readonly string[] = Object.freeze([...associatedDataCodes, '_history', '_deleted']);

/** Defaults: every feature on, the IG's associated-data codes, `fhir-export` container, no poll limit. */
export const facadeDefaults: Readonly<FacadeOptions> = Object.freeze({
  defaultContainer: exportSettingDefaults.defaultContainer,
  features: Object.freeze({ elements: true, typeFilter: true, patient: true, until: true, includeAssociatedData: associatedDataCodes }),
  now: () => new Date(),
  maxStatusRetryAfterSeconds: 30,
  throttledRetryAfterSeconds: 60,
  manifestSasUrls: exportSettingDefaults.manifestSasUrls,
  minimumPollIntervalSeconds: 0,
});

/** Partial options over the defaults (features merged field by field). */
export type FacadeOptionsInput = Partial<Omit<FacadeOptions, 'features'>> & { features?: Partial<ExportFeatures> };

/** The effective options: `input` over the defaults, validated and frozen. */
export function facadeOptions(input: FacadeOptionsInput = {}): Readonly<FacadeOptions> {
  const options: FacadeOptions = { ...facadeDefaults, ...input, features: { ...facadeDefaults.features, ...input.features } };
  for (const key of ['maxStatusRetryAfterSeconds', 'throttledRetryAfterSeconds', 'minimumPollIntervalSeconds'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 0) throw new Error(`export facade option ${key} must be a whole number of seconds`);
  }
  if (options.maxStatusRetryAfterSeconds < 1) throw new Error('export facade option maxStatusRetryAfterSeconds must be at least 1');
  if (!isContainerName(options.defaultContainer)) throw new Error('export facade option defaultContainer must be a valid container name');
  Object.freeze(options.features);
  return Object.freeze(options);
}
