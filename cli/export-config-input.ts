/**
 * ExportJobConfiguration overrides from the command line: one flag per field
 * (the field's name in kebab case, e.g. `--rolling-file-size-in-mb 64`) and a
 * JSON file (`--export-config file.json`, camelCase or snake_case keys).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ExportJobConfiguration } from '../gen/fhirmesh/routing/v1/account.ts';
import { CliError, ExitCode } from './errors.ts';
import { collect, wholeNumber } from './parse.ts';

type Key = keyof ExportJobConfiguration;

/** The fields: key, kind and what it means. */
export const exportFields: readonly { key: Key; kind: 'string' | 'uint'; doc: string }[] = [
  { key: 'storageAccountUri', kind: 'string', doc: 'default destination storage account (https blob endpoint)' },
  { key: 'maximumNumberOfConcurrentJobsAllowed', kind: 'uint', doc: 'exports one FHIR service instance runs at once' },
  { key: 'jobHeartbeatTimeoutThresholdSeconds', kind: 'uint', doc: 'seconds without heartbeat before another worker takes a job over' },
  { key: 'jobPollingFrequencySeconds', kind: 'uint', doc: 'seconds between queue polls of an idle worker' },
  { key: 'maximumNumberOfResourcesPerQuery', kind: 'uint', doc: 'resources read per store query' },
  { key: 'numberOfPagesPerCommit', kind: 'uint', doc: 'pages written between progress checkpoints' },
  { key: 'rollingFileSizeInMb', kind: 'uint', doc: 'MiB at which an output file is closed and the next started' },
  { key: 'maxJobRestartCount', kind: 'uint', doc: 'times a job may be taken over before it fails' },
  { key: 'defaultContainer', kind: 'string', doc: 'container for exports that name none' },
];

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The field named `name` in camel, snake or kebab case, or undefined. */
export function exportFieldOf(name: string): (typeof exportFields)[number] | undefined {
  return exportFields.find((f) => f.key === name || snake(f.key) === name || kebab(f.key) === name);
}

/** Adds the per-field flags, `--export-config <file>` and, for updates, `--unset-export` / `--reset-export-config`. */
export function addExportOptions(command: Command, forUpdate: boolean): Command {
  for (const field of exportFields) {
    const flag = `--${kebab(field.key)} <${field.kind === 'uint' ? 'n' : 'value'}>`;
    if (field.kind === 'uint') command.option(flag, `export override: ${field.doc}`, wholeNumber);
    else command.option(flag, `export override: ${field.doc}`);
  }
  command.option('--export-config <file>', 'export overrides from a JSON file (flags win over the file)');
  if (forUpdate) {
    command.option('--unset-export <fields>', 'drop these overrides (field names, comma list, repeatable)', collect);
    command.option('--reset-export-config', 'drop every current override before applying the given ones');
  }
  return command;
}

/** Overrides read from a JSON file; unknown keys or wrong types are usage errors. */
export function readExportConfigFile(path: string): ExportJobConfiguration {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read the export configuration file ${path}: ${(error as Error).message}`, ExitCode.usage, error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`the export configuration file ${path} must hold a JSON object`, ExitCode.usage);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const field = exportFieldOf(name);
    if (!field) throw new CliError(`the export configuration file ${path} has an unknown field "${name}" (known: ${exportFields.map((f) => f.key).join(', ')})`, ExitCode.usage);
    const ok = field.kind === 'uint' ? Number.isInteger(value) && (value as number) >= 0 : typeof value === 'string';
    if (!ok) throw new CliError(`the export configuration file ${path}: "${name}" must be ${field.kind === 'uint' ? 'a whole number' : 'a string'}`, ExitCode.usage);
    out[field.key] = value;
  }
  return out as ExportJobConfiguration;
}

/** True when the options name any export change. */
export function hasExportChanges(opts: Record<string, unknown>): boolean {
  return exportFields.some((f) => opts[f.key] !== undefined) || opts.exportConfig !== undefined || opts.unsetExport !== undefined || opts.resetExportConfig === true;
}

/** `current` (dropped when reset) ← file ← flags, minus the unset fields. */
export function exportOverridesFrom(opts: Record<string, unknown>, current: ExportJobConfiguration = {}): ExportJobConfiguration {
  const out: Record<string, unknown> = opts.resetExportConfig ? {} : { ...current };
  if (typeof opts.exportConfig === 'string') Object.assign(out, readExportConfigFile(opts.exportConfig));
  for (const field of exportFields) if (opts[field.key] !== undefined) out[field.key] = opts[field.key];
  for (const name of (opts.unsetExport as string[] | undefined) ?? []) {
    const field = exportFieldOf(name);
    if (!field) throw new CliError(`--unset-export: unknown field "${name}"`, ExitCode.usage);
    delete out[field.key];
  }
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as ExportJobConfiguration;
}
