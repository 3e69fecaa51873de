/**
 * Loads the fhir-server settings: built-in defaults < config file (JSON) <
 * environment, validated (every problem listed, each naming its setting and
 * environment variable) and deep-frozen, with the layer each export value came from.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { ConfigError, deepFreeze, loadSettings, type Setting, type SettingsSchema } from '../../common/config.ts';
import { checkExportValues, exportFromSettings, type ExportJobConfiguration, type ExportValueSource } from './export-job-configuration.ts';
import { commaList, trustedProxyList } from '../http/base-url.ts';
import { fhirSettingsSchema, type FhirSettings } from './schema.ts';

/** Settings before account overrides. */
export interface LoadedConfiguration {
  /** Every setting. */
  readonly settings: FhirSettings;
  /** The export settings (normalised). */
  readonly export: ExportJobConfiguration;
  /** The layer each export value came from. */
  readonly exportSources: Readonly<Record<keyof ExportJobConfiguration, ExportValueSource>>;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid configuration: config file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`invalid configuration: config file ${path} is not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`invalid configuration: config file ${path} must hold a JSON object`);
  return json as Record<string, unknown>;
}

function fileSettings(schema: SettingsSchema, values: Record<string, unknown>, prefix = ''): Array<{ path: string; setting: Setting; value: unknown }> {
  return Object.entries(schema).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    if (typeof child.type === 'string' && typeof child.env === 'string') return (child as Setting).type === 'file' ? [{ path, setting: child as Setting, value: values[key] }] : [];
    return fileSettings(child as SettingsSchema, (values[key] as Record<string, unknown>) ?? {}, `${path}.`);
  });
}

function checks(settings: FhirSettings): string[] {
  const problems: string[] = [];
  for (const { path, setting, value } of fileSettings(fhirSettingsSchema, settings as unknown as Record<string, unknown>)) {
    if (typeof value !== 'string') continue;
    try {
      accessSync(value, constants.R_OK);
    } catch {
      problems.push(`${path} (${setting.env}) names a file that cannot be read: ${value}`);
    }
  }
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(settings.routing.address ?? '')) {
    problems.push(`routing.address (${fhirSettingsSchema.routing.address.env}) must be host:port`);
  }
  try {
    trustedProxyList(commaList(settings.trustedProxies));
  } catch (err) {
    problems.push(`trustedProxies (${fhirSettingsSchema.trustedProxies.env}): ${(err as Error).message}`);
  }
  if (!settings.auth.disabled && !settings.auth.tenantId) {
    problems.push(`auth.tenantId (${fhirSettingsSchema.auth.tenantId.env}) is required unless auth.disabled (${fhirSettingsSchema.auth.disabled.env}) is true`);
  }
  return problems;
}

function sourceOf(key: keyof ExportJobConfiguration, file: Record<string, unknown>, env: NodeJS.ProcessEnv): ExportValueSource {
  const envValue = env[fhirSettingsSchema.export[key].env];
  if (envValue !== undefined && envValue !== '') return 'environment';
  const fileValue = (file.export as Record<string, unknown> | undefined)?.[key];
  return fileValue !== undefined && fileValue !== null && fileValue !== '' ? 'file' : 'default';
}

/** Loads settings from `configFile` (optional JSON) and `env`; throws `ConfigError` listing every problem. */
export function loadFhirServerConfig(configFile?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfiguration {
  const file = configFile ? readConfigFile(configFile) : {};
  const settings = loadSettings(fhirSettingsSchema, file, env);
  const problems = checks(settings);
  const checked = checkExportValues(settings.export);
  for (const { key, message } of checked.problems) problems.push(`export.${key} (${fhirSettingsSchema.export[key].env}) from the ${sourceOf(key, file, env)}: ${message}`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  const exportConfig = exportFromSettings(settings, checked.values);
  const keys = Object.keys(exportConfig) as (keyof ExportJobConfiguration)[];
  const exportSources = Object.fromEntries(keys.map((key) => [key, sourceOf(key, file, env)])) as Record<keyof ExportJobConfiguration, ExportValueSource>;
  return deepFreeze({ settings, export: exportConfig, exportSources });
}
