/**
 * Typed settings from layered sources: built-in defaults < config file (JSON) <
 * environment. Each setting is declared once with its default, environment
 * name, type, bounds and doc; the result is validated, then deep-frozen.
 */

/** Kinds of setting values. */
export type SettingType = 'string' | 'int' | 'bool' | 'url' | 'file';

/** One declared setting. */
export interface Setting {
  /** Value type. */
  type: SettingType;
  /** Environment variable that overrides it. */
  env: string;
  /** One-line description (shown in docs/configuration.md and in errors). */
  doc: string;
  /** Default; undefined means "not set". */
  default?: string | number | boolean;
  /** Must be set by some source. */
  required?: boolean;
  /** Never shown in full (redacted in the effective configuration). */
  secret?: boolean;
  /** Inclusive bounds for int settings. */
  min?: number;
  max?: number;
}

/** A tree of settings. */
export interface SettingsSchema {
  [key: string]: Setting | SettingsSchema;
}

/** Values of a schema. */
export type SettingsOf<S extends SettingsSchema> = {
  readonly [K in keyof S]: S[K] extends Setting
    ? S[K]['type'] extends 'int'
      ? number
      : S[K]['type'] extends 'bool'
        ? boolean
        : string | undefined
    : S[K] extends SettingsSchema
      ? SettingsOf<S[K]>
      : never;
};

/** A configuration problem, listing every bad setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function isSetting(node: Setting | SettingsSchema): node is Setting {
  return typeof (node as Setting).type === 'string' && typeof (node as Setting).env === 'string';
}

function parse(setting: Setting, raw: unknown, path: string, problems: string[]): unknown {
  if (raw === undefined || raw === null || raw === '') return undefined;
  switch (setting.type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isInteger(n)) return void problems.push(`${path} (${setting.env}) must be an integer`);
      if ((setting.min !== undefined && n < setting.min) || (setting.max !== undefined && n > setting.max)) {
        return void problems.push(`${path} (${setting.env}) must be from ${setting.min ?? '-∞'} to ${setting.max ?? '∞'}`);
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      return void problems.push(`${path} (${setting.env}) must be true or false`);
    }
    case 'url': {
      try {
        const u = new URL(String(raw));
        if (u.protocol !== 'https:') return void problems.push(`${path} (${setting.env}) must be an https URL`);
        return String(raw);
      } catch {
        return void problems.push(`${path} (${setting.env}) must be an absolute URL`);
      }
    }
    default:
      return String(raw);
  }
}

/** Resolves `schema` from `file` (parsed JSON, may be empty) and `env`; throws ConfigError listing all problems. */
export function loadSettings<S extends SettingsSchema>(schema: S, file: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): SettingsOf<S> {
  const problems: string[] = [];
  const walk = (node: SettingsSchema, fileNode: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const fileValue = fileNode?.[key];
      if (isSetting(child)) {
        const value = parse(child, env[child.env], path, problems) ?? parse(child, fileValue, path, problems) ?? child.default;
        if (value === undefined && child.required) problems.push(`${path} is required (set ${child.env} or "${path}" in the config file): ${child.doc}`);
        out[key] = value;
      } else {
        out[key] = walk(child, (fileValue as Record<string, unknown>) ?? {}, path);
      }
    }
    for (const key of Object.keys(fileNode ?? {})) if (!(key in node)) problems.push(`unknown setting "${prefix ? `${prefix}.` : ''}${key}" in the config file`);
    return out;
  };
  const values = walk(schema, file, '');
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return deepFreeze(values) as SettingsOf<S>;
}

/** A copy of `values` with secret settings replaced by "[redacted]". */
export function redactSettings(schema: SettingsSchema, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(schema)) {
    const value = values[key];
    if (isSetting(child)) out[key] = child.secret && value !== undefined ? '[redacted]' : value;
    else out[key] = redactSettings(child, (value as Record<string, unknown>) ?? {});
  }
  return out;
}

/** Lines "ENV_NAME (default) — doc" for documentation. */
export function describeSettings(schema: SettingsSchema, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([key, child]) =>
    isSetting(child)
      ? [`| \`${prefix}${key}\` | \`${child.env}\` | ${child.default === undefined ? (child.required ? '(required)' : '') : `\`${child.default}\``} | ${child.doc} |`]
      : describeSettings(child, `${prefix}${key}.`),
  );
}

/** Freezes an object graph. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
