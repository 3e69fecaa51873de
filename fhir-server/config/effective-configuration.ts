/**
 * The configuration a running fhir-server uses: loaded settings with the
 * account's export overrides on top. Each snapshot is deep-frozen; a rejected
 * override set leaves the previous snapshot in place.
 */
import type { Logger } from 'pino';
import { deepFreeze, redactSettings } from '../../common/config.ts';
import {
  checkExportValues,
  overridableExportKeys,
  withOverrides,
  type ExportJobConfiguration,
  type ExportJobConfigurationOverrides,
  type ExportValueSource,
} from './export-job-configuration.ts';
import type { LoadedConfiguration } from './load.ts';
import { fhirSettingsSchema, type FhirSettings } from './schema.ts';

/** The account overrides in force. */
export interface AppliedOverrides {
  /** Where they were read (e.g. "routing-server at start-up"). */
  readonly source: string;
  /** ISO time they were applied. */
  readonly appliedAt: string;
  /** The normalised values. */
  readonly values: ExportJobConfigurationOverrides;
}

/** One frozen snapshot of the configuration. */
export interface ConfigurationSnapshot {
  /** Increments with every accepted change. */
  readonly version: number;
  /** Every setting as loaded; its `export` block is before overrides: read export values from `export` below. */
  readonly settings: FhirSettings;
  /** The effective export settings. */
  readonly export: ExportJobConfiguration;
  /** The layer each export value came from. */
  readonly exportSources: Readonly<Record<keyof ExportJobConfiguration, ExportValueSource>>;
  /** The account overrides in force, if any were applied. */
  readonly overrides: AppliedOverrides | undefined;
}

/** Outcome of `applyOverrides`. */
export type ApplyOverridesResult =
  | { accepted: true; changed: (keyof ExportJobConfiguration)[] }
  | { accepted: false; reasons: string[] };

/** Called with the new and the previous snapshot after an accepted change. */
export type ConfigurationListener = (current: ConfigurationSnapshot, previous: ConfigurationSnapshot) => void;

/** The effective configuration: current snapshot, overrides, change listeners, redacted view. */
export class EffectiveConfiguration {
  #current: ConfigurationSnapshot;
  #lastRejection: { source: string; at: string; reasons: string[] } | undefined;
  readonly #listeners = new Set<ConfigurationListener>();

  /** Starts from loaded settings (no overrides yet). */
  constructor(
    private readonly loaded: LoadedConfiguration,
    private readonly logger?: Logger,
  ) {
    this.#current = deepFreeze({ version: 1, settings: loaded.settings, export: loaded.export, exportSources: loaded.exportSources, overrides: undefined });
  }

  /** The current frozen snapshot. */
  current(): ConfigurationSnapshot {
    return this.#current;
  }

  /** Replaces the account's overrides by `overrides` (absent fields fall back to file/env/defaults); an invalid set is rejected whole. */
  applyOverrides(overrides: ExportJobConfigurationOverrides | undefined, source: string): ApplyOverridesResult {
    const checked = checkExportValues(overrides ?? {});
    if (checked.problems.length > 0) {
      const reasons = checked.problems.map((p) => `${p.key}: ${p.message}`);
      this.#lastRejection = { source, at: new Date().toISOString(), reasons };
      this.logger?.warn({ source, reasons }, 'account export overrides rejected; keeping the previous configuration');
      return { accepted: false, reasons };
    }
    const previous = this.#current;
    const merged = withOverrides(this.loaded.export, this.loaded.exportSources, checked.values);
    const changed = (Object.keys(merged.export) as (keyof ExportJobConfiguration)[]).filter((key) => merged.export[key] !== previous.export[key]);
    const sourcesChanged = overridableExportKeys.some((key) => merged.sources[key] !== previous.exportSources[key]);
    const next: ConfigurationSnapshot = deepFreeze({
      version: changed.length > 0 || sourcesChanged ? previous.version + 1 : previous.version,
      settings: previous.settings,
      export: merged.export,
      exportSources: merged.sources,
      overrides: { source, appliedAt: new Date().toISOString(), values: checked.values },
    });
    this.#current = next;
    if (changed.length > 0) {
      this.logger?.info({ source, changed }, 'account export overrides applied');
      for (const listener of this.#listeners) {
        try {
          listener(next, previous);
        } catch (err) {
          this.logger?.error({ err }, 'configuration listener failed');
        }
      }
    }
    return { accepted: true, changed };
  }

  /** Calls `listener` after every accepted change of an effective value; returns an unsubscribe function. */
  onChange(listener: ConfigurationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The configuration for display: secrets replaced by "[redacted]", each export value with its layer. */
  redacted(): Record<string, unknown> {
    const { version, settings, export: exportConfig, exportSources, overrides } = this.#current;
    const exportView = Object.fromEntries(
      (Object.keys(exportConfig) as (keyof ExportJobConfiguration)[]).map((key) => [key, { value: exportConfig[key] ?? null, source: exportSources[key] }]),
    );
    const { export: _baseExport, ...rest } = redactSettings(fhirSettingsSchema, settings as unknown as Record<string, unknown>);
    return {
      version,
      settings: rest,
      export: exportView,
      accountOverrides: overrides ? { source: overrides.source, appliedAt: overrides.appliedAt, fields: Object.keys(overrides.values) } : null,
      lastRejectedOverrides: this.#lastRejection ?? null,
    };
  }
}
