/**
 * Index entries: what a FHIR-typed value becomes in the stored search index,
 * one small JSON shape per parameter type, so that Cosmos SQL can compare them
 * directly (see docs/search.md for the layout).
 *
 * | type      | entry |
 * |-----------|-------|
 * | token     | `{s?, c?}` system and code (Coding, Identifier, ContactPoint, code, boolean); `{x}` normalised text (CodeableConcept.text, Coding.display) for `:text` |
 * | string    | `{n, e}` normalised (lower case, no accents) and exact text; HumanName and Address give one entry per part |
 * | reference | `"Type/id"` or the absolute URL or canonical, as written (version suffix dropped) |
 * | uri       | the URI |
 * | date      | `{s, e}` first and last epoch ms of the value's range |
 * | number    | `{l, h}` low and high (equal for a plain number; a Range's ends) |
 * | quantity  | `{v, s?, c?, u?}` value, system, code, unit (Money: currency as code) |
 */
import type { TypedValue } from '@medplum/core';
import { dateRange, maxInstant, minInstant } from './dates.ts';
import type { ParameterType } from './parameters.ts';

/** A token entry. */
export type TokenEntry = { s?: string; c?: string } | { x: string };
/** A string entry. */
export interface StringEntry {
  /** Normalised text (see {@link normalizeText}). */
  n: string;
  /** The text as written. */
  e: string;
}
/** A date entry (epoch ms, inclusive). */
export interface DateEntry {
  /** Start. */
  s: number;
  /** End. */
  e: number;
}
/** A number entry. */
export interface NumberEntry {
  /** Low. */
  l: number;
  /** High. */
  h: number;
}
/** A quantity entry. */
export interface QuantityEntry {
  /** Value. */
  v: number;
  /** System. */
  s?: string;
  /** Code. */
  c?: string;
  /** Unit as written. */
  u?: string;
}
/** Any index entry. */
export type IndexEntry = TokenEntry | StringEntry | DateEntry | NumberEntry | QuantityEntry | string;

/** Longest text kept in a string entry (longer text is cut: prefix and `:contains` searches still see its start). */
export const maxIndexedText = 512;

/** Lower case without diacritics: how string search compares. */
export function normalizeText(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');

function pushCoding(out: TokenEntry[], coding: unknown): void {
  if (!isObject(coding)) return;
  const s = str(coding.system);
  const c = str(coding.code);
  if (s !== undefined || c !== undefined) out.push(s === undefined ? { c: c! } : c === undefined ? { s } : { s, c });
  const display = str(coding.display);
  if (display) out.push({ x: normalizeText(display) });
}

function tokens(values: TypedValue[]): TokenEntry[] {
  const out: TokenEntry[] = [];
  for (const { type, value } of values) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out.push({ c: String(value) });
    } else if (!isObject(value)) {
      continue;
    } else if (type === 'CodeableConcept' || Array.isArray(value.coding)) {
      for (const coding of Array.isArray(value.coding) ? value.coding : []) pushCoding(out, coding);
      const text = str(value.text);
      if (text) out.push({ x: normalizeText(text) });
    } else if (type === 'Identifier' || type === 'ContactPoint') {
      const s = str(value.system);
      const c = str(value.value);
      if (c !== undefined) out.push(s === undefined ? { c } : { s, c });
      else if (s !== undefined) out.push({ s });
    } else {
      pushCoding(out, value);
    }
  }
  return out;
}

const stringEntry = (text: string): StringEntry => {
  const e = text.length > maxIndexedText ? text.slice(0, maxIndexedText) : text;
  return { n: normalizeText(e), e };
};

function texts(values: TypedValue[]): StringEntry[] {
  const out: StringEntry[] = [];
  for (const { type, value } of values) {
    if (typeof value === 'string') {
      if (value !== '') out.push(stringEntry(value));
    } else if (isObject(value) && type === 'HumanName') {
      for (const part of [value.text, value.family, value.given, value.prefix, value.suffix]) for (const s of strings(part)) out.push(stringEntry(s));
    } else if (isObject(value) && type === 'Address') {
      for (const part of [value.text, value.line, value.city, value.district, value.state, value.postalCode, value.country]) for (const s of strings(part)) out.push(stringEntry(s));
    }
  }
  return out;
}

/** A reference as indexed: relative or absolute, without a version suffix; undefined for contained, conditional or logical ones. */
export function indexedReference(reference: string): string | undefined {
  if (reference === '' || reference.startsWith('#') || reference.includes('?')) return undefined;
  return reference.replace(/\/_history\/[^/]+$/, '');
}

function references(values: TypedValue[]): string[] {
  const out: string[] = [];
  for (const { value } of values) {
    if (typeof value === 'string') {
      // canonical or uri: as written, and without its version
      out.push(value);
      const bar = value.indexOf('|');
      if (bar > 0) out.push(value.slice(0, bar));
    } else if (isObject(value)) {
      if (typeof value.reference === 'string') {
        const ref = indexedReference(value.reference);
        if (ref) out.push(ref);
      } else if (typeof value.resourceType === 'string' && typeof value.id === 'string') {
        out.push(`${value.resourceType}/${value.id}`);
      }
    }
  }
  return out;
}

function uris(values: TypedValue[]): string[] {
  return values.flatMap(({ value }) => (typeof value === 'string' && value !== '' ? [value] : []));
}

function periodOf(value: Json): DateEntry | undefined {
  const start = typeof value.start === 'string' ? dateRange(value.start) : undefined;
  const end = typeof value.end === 'string' ? dateRange(value.end) : undefined;
  if (!start && !end) return undefined;
  return { s: start?.start ?? minInstant, e: end?.end ?? maxInstant };
}

function dates(values: TypedValue[]): DateEntry[] {
  const out: DateEntry[] = [];
  for (const { value } of values) {
    if (typeof value === 'string') {
      const range = dateRange(value);
      if (range) out.push({ s: range.start, e: range.end });
    } else if (isObject(value)) {
      if ('start' in value || 'end' in value) {
        const period = periodOf(value);
        if (period) out.push(period);
      } else if ('event' in value || 'repeat' in value) {
        // Timing: from the first event to the last, or its bounds
        const events = strings(value.event).map(dateRange).filter((r) => r !== undefined);
        if (events.length > 0) out.push({ s: Math.min(...events.map((r) => r.start)), e: Math.max(...events.map((r) => r.end)) });
        else if (isObject(value.repeat) && isObject(value.repeat.boundsPeriod)) {
          const period = periodOf(value.repeat.boundsPeriod);
          if (period) out.push(period);
        }
      }
    }
  }
  return out;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

function numbers(values: TypedValue[]): NumberEntry[] {
  const out: NumberEntry[] = [];
  for (const { value } of values) {
    const plain = typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : num(value);
    if (plain !== undefined) out.push({ l: plain, h: plain });
    else if (isObject(value) && (isObject(value.low) || isObject(value.high))) {
      const low = isObject(value.low) ? num(value.low.value) : undefined;
      const high = isObject(value.high) ? num(value.high.value) : undefined;
      if (low !== undefined || high !== undefined) out.push({ l: low ?? -Number.MAX_VALUE, h: high ?? Number.MAX_VALUE });
    }
  }
  return out;
}

function quantities(values: TypedValue[]): QuantityEntry[] {
  const out: QuantityEntry[] = [];
  for (const { type, value } of values) {
    if (num(value) !== undefined) {
      out.push({ v: value as number });
      continue;
    }
    if (!isObject(value) || num(value.value) === undefined) continue;
    const entry: QuantityEntry = { v: value.value as number };
    if (type === 'Money' || typeof value.currency === 'string') {
      entry.s = 'urn:iso:std:iso:4217';
      if (str(value.currency)) entry.c = value.currency as string;
    } else {
      if (str(value.system)) entry.s = value.system as string;
      if (str(value.code)) entry.c = value.code as string;
      if (str(value.unit)) entry.u = value.unit as string;
    }
    out.push(entry);
  }
  return out;
}

function unique<T>(entries: T[]): T[] {
  if (entries.length < 2) return entries;
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const key = typeof entry === 'string' ? entry : JSON.stringify(entry);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The index entries of `values` for a parameter of `type` (without duplicates; empty when nothing is indexable). */
export function indexEntries(type: ParameterType, values: TypedValue[]): IndexEntry[] {
  switch (type) {
    case 'token':
      return unique(tokens(values));
    case 'string':
      return unique(texts(values));
    case 'reference':
      return unique(references(values));
    case 'uri':
      return unique(uris(values));
    case 'date':
      return unique(dates(values));
    case 'number':
      return unique(numbers(values));
    case 'quantity':
      return unique(quantities(values));
    default:
      return [];
  }
}
