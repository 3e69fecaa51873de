/**
 * The list-valued kick-off parameters, value by value: `_type`, `_typeFilter`,
 * `_elements`, `patient`, `includeAssociatedData`. Each checker returns the
 * normalised value or throws an `invalid` FhirError naming the parameter.
 */
import { FhirError } from '../../fhir/errors.ts';
import { patientCompartmentTypes } from '../../fhir/compartments.ts';
import { isResourceType, isStorableType } from '../../fhir/resource-types.ts';
import type { ExportLevel } from '../ports.ts';
import { associatedDataCodes } from './options.ts';

/** An `invalid` error located at `parameter`. */
export function invalidParameter(parameter: string, why: string): FhirError {
  return new FhirError('invalid', `${parameter} ${why}`, { expression: parameter });
}

/** Comma-separated values of every occurrence, trimmed; an empty item is refused. */
export function splitList(parameter: string, values: string[]): string[] {
  const items = values.flatMap((value) => value.split(',')).map((item) => item.trim());
  if (items.some((item) => item === '')) throw invalidParameter(parameter, 'has an empty value (check for stray commas)');
  return items;
}

/** True when `type` can be exported at `level`: any stored type system-wide, the Patient compartment otherwise. */
export function exportableAt(level: ExportLevel, type: string): boolean {
  if (level === 'system') return isStorableType(type);
  return type === 'Patient' || patientCompartmentTypes.has(type);
}

/** Checks the form of a type name (`invalid` when it cannot be one); R4 membership is checked by the caller. */
export function checkTypeName(parameter: string, type: string): string {
  if (!/^[A-Z][A-Za-z]{1,63}$/.test(type)) throw invalidParameter(parameter, `value "${type.slice(0, 64)}" is not a resource type name`);
  return type;
}

// Search result parameters the IG forbids inside _typeFilter.
const resultParameters = new Set(['_include', '_revinclude', '_sort', '_count', '_summary', '_elements', '_contained', '_containedType', '_total', '_format']);

/** Splits `_typeFilter` values into queries: a comma starts a new query only when `Type?` follows it. */
export function splitTypeFilters(values: string[]): string[] {
  const queries = values.flatMap((value) => value.split(/,(?=[A-Z][A-Za-z]*\?)/)).map((query) => query.trim());
  if (queries.some((query) => query === '')) throw invalidParameter('_typeFilter', 'has an empty value');
  return queries;
}

/** Checks the form of one `Type?query`; returns its type (R4 membership is checked by the caller). */
export function checkTypeFilter(query: string): string {
  const match = /^([A-Z][A-Za-z]{1,63})\?(.+)$/.exec(query);
  if (!match) throw invalidParameter('_typeFilter', `value "${query.slice(0, 100)}" is not of the form Type?search`);
  const type = match[1]!;
  for (const [name, value] of new URLSearchParams(match[2]!)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(name)) throw invalidParameter('_typeFilter', `query of ${type} has a malformed search parameter name "${name.slice(0, 64)}"`);
    if (resultParameters.has(name)) throw invalidParameter('_typeFilter', `query of ${type} uses ${name}; search result parameters are not allowed`);
    if (value === '') throw invalidParameter('_typeFilter', `query of ${type} gives ${name} no value`);
  }
  return type;
}

/** Checks one `_elements` item: `Type.element` or `element`, root elements only. */
export function checkElement(item: string): string {
  const match = /^(?:([A-Za-z]+)\.)?([a-z][A-Za-z0-9]*(?:\[x\])?)$/.exec(item);
  if (!match) throw invalidParameter('_elements', `value "${item.slice(0, 100)}" is not [Type.]element (root elements only)`);
  if (match[1] !== undefined && !isResourceType(match[1])) throw invalidParameter('_elements', `names "${match[1]}", which is not an R4 resource type`);
  return item;
}

/** Checks one `patient` reference (`Patient/<id>`). */
export function checkPatientReference(reference: string): string {
  if (!/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) throw invalidParameter('patient', `reference "${reference.slice(0, 100)}" is not of the form Patient/<id>`);
  return reference;
}

/**
 * Checks the form of one `includeAssociatedData` value: a code (letters, digits, `_`, `-`; at most 64),
 * such as the IG's codes or a `_custom` one. A well-formed value the server does not support is the
 * caller's concern (refused when strict, a note when lenient); only a value no code can be is malformed.
 */
export function checkAssociatedData(value: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/.test(value)) {
    throw invalidParameter('includeAssociatedData', `value "${value.slice(0, 64)}" is not a code (such as ${associatedDataCodes.join(' or ')}, or a _custom value)`);
  }
  return value;
}
