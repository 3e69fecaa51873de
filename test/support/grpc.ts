/** Test helpers for gRPC calls: expect a status, decode JWT claims. */
import * as assert from 'uvu/assert';
import { status, type ServiceError } from '@grpc/grpc-js';
import { decodeJwt } from 'jose';

/** Awaits `p` and asserts it fails with gRPC `code` (and a message matching `pattern`); returns the error. */
export async function expectStatus(p: Promise<unknown>, code: status, pattern?: RegExp): Promise<ServiceError> {
  let err: ServiceError | undefined;
  try {
    await p;
  } catch (e) {
    err = e as ServiceError;
  }
  if (!err) throw new assert.Assertion({ message: `expected ${status[code]}, the call succeeded`, operator: 'status', expects: code, actual: 0 });
  if (err.code !== code) throw new Error(`expected ${status[code]}, got ${status[err.code] ?? err.code}: ${err.details ?? err.message}`);
  if (pattern && !pattern.test(err.details)) throw new Error(`status ${status[code]} but message "${err.details}" does not match ${pattern}`);
  return err;
}

/** The claims of a JWT (no verification). */
export function claims(token: string): Record<string, unknown> {
  return decodeJwt(token) as Record<string, unknown>;
}
