/**
 * Reading search values (https://hl7.org/fhir/R4/search.html): escapes (`\,`
 * `\|` `\$` `\\`), prefixes, and one parser per parameter type. A value that
 * cannot be read is the client's mistake: `FhirError('invalid')` naming the parameter.
 */
import { FhirError } from '../fhir/errors.ts';
import { dateRange } from './dates.ts';
import { normalizeText } from './index-values.ts';
import type { DateValue, NumberValue, Prefix, QuantityValue, TokenValue } from './query.ts';

/** Splits `input` at every `separator` not escaped with a backslash; escapes stay in the parts. */
export function splitEscaped(input: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch === '\\' && i + 1 < input.length) {
      current += ch + input[i + 1];
      i += 1;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** `text` with its backslash escapes resolved. */
export function unescapeValue(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

const prefixes = new Set<Prefix>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** Splits an ordered value into its prefix (default `eq`) and the rest. */
export function prefixOf(text: string): { prefix: Prefix; rest: string } {
  const head = text.slice(0, 2) as Prefix;
  return prefixes.has(head) && /^[0-9+\-.]/.test(text.slice(2)) ? { prefix: head, rest: text.slice(2) } : { prefix: 'eq', rest: text };
}

const invalid = (name: string, why: string): FhirError => new FhirError('invalid', `Search parameter '${name}': ${why}`, { expression: name });

/** A date search value; `ap` widens the range by a tenth of its distance from now. */
export function parseDateValue(name: string, text: string, nowMs: number): DateValue {
  const { prefix, rest } = prefixOf(text);
  const range = dateRange(rest);
  if (!range) throw invalid(name, `'${text}' is not a date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime, optionally after a prefix such as ge)`);
  if (prefix !== 'ap') return { prefix, ...range };
  const margin = Math.abs(nowMs - range.start) * 0.1;
  return { prefix, start: range.start - margin, end: range.end + margin };
}

const numberPattern = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A number search value with the range its significant digits imply (`100` is [99.5, 100.5), `1e2` [50, 150)); `ap` is ±10 %. */
export function parseNumberValue(name: string, text: string): NumberValue {
  const { prefix, rest } = prefixOf(text);
  const m = numberPattern.exec(rest);
  if (!m) throw invalid(name, `'${text}' is not a number (optionally after a prefix such as gt)`);
  const value = Number(rest);
  if (prefix === 'ap') {
    const margin = Math.abs(value) * 0.1;
    return { prefix, value, low: value - margin, high: value + margin };
  }
  // value = digits × 10^-scale; the implied range is value ± 5 × 10^-(scale+1), computed in decimal so its ends are exact.
  const digits = BigInt(`${m[1]}${m[2]}${m[3] ?? ''}`);
  const exponent = -((m[3] ?? '').length - Number(m[4] ?? 0)) - 1;
  return { prefix, value, low: Number(`${digits * 10n - 5n}e${exponent}`), high: Number(`${digits * 10n + 5n}e${exponent}`) };
}

/** A quantity search value: `[prefix]number`, `number|system|code` or `number||code`. */
export function parseQuantityValue(name: string, text: string): QuantityValue {
  const [number = '', system, ...code] = splitEscaped(text, '|');
  const parsed: QuantityValue = parseNumberValue(name, number);
  if (system) parsed.system = unescapeValue(system);
  const unit = unescapeValue(code.join('|'));
  if (unit) parsed.code = unit;
  return parsed;
}

/** A token search value: `[system]|[code]`, `|[code]`, `[system]|`, `[code]`; with `:text` the text. */
export function parseTokenValue(name: string, text: string, asText: boolean): TokenValue {
  if (asText) return { text: normalizeText(unescapeValue(text)) };
  const [first = '', ...rest] = splitEscaped(text, '|');
  if (rest.length === 0) return { code: unescapeValue(first) };
  const system = unescapeValue(first);
  const code = unescapeValue(rest.join('|'));
  if (system === '' && code === '') throw invalid(name, "'|' alone names neither a system nor a code");
  if (system === '') return { noSystem: true, code };
  return code === '' ? { system } : { system, code };
}

const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const relative = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * The stored forms a reference search value matches: `Type/id` (and the same at
 * this server's base URL), an absolute URL (at this server's base: also `Type/id`),
 * or a bare id (`Type/id` for every type the parameter may point to, or the type
 * named by a `:Type` modifier).
 */
export function referenceForms(text: string, targets: readonly string[], baseUrl: string | undefined, typeModifier?: string): string[] {
  const value = unescapeValue(text).replace(/\/_history\/[^/]+$/, '');
  if (absolute.test(value)) {
    if (baseUrl && value.startsWith(`${baseUrl}/`)) {
      const rest = value.slice(baseUrl.length + 1);
      if (relative.test(rest)) return [rest, value];
    }
    return [value];
  }
  if (value.includes('/')) return baseUrl ? [value, `${baseUrl}/${value}`] : [value];
  const types = typeModifier ? [typeModifier] : targets;
  return types.flatMap((type) => (baseUrl ? [`${type}/${value}`, `${baseUrl}/${type}/${value}`] : [`${type}/${value}`]));
}
