/**
 * Test support: assertions about `FhirError`s.
 */
import * as assert from 'uvu/assert';
import { FhirError } from '../../../fhir-server/fhir/errors.ts';

/** Awaits `promise`, expecting a `FhirError` of `kind`; returns it. */
export async function rejectsWith(promise: Promise<unknown>, kind: string): Promise<FhirError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, FhirError);
    assert.is((error as FhirError).kind, kind, (error as FhirError).message);
    return error as FhirError;
  }
  assert.unreachable(`expected a ${kind} FhirError`);
  throw new Error('unreachable');
}
