/** Reading callers' credentials from gRPC metadata. */
import type { Metadata } from '@grpc/grpc-js';
import { RoutingError } from '../domain/errors.ts';

/** The bearer value of the `authorization` metadata, or undefined when absent. Malformed headers are `unauthenticated`. */
export function bearerToken(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new RoutingError('unauthenticated', 'send exactly one authorization header');
  const value = String(values[0]);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (!match) throw new RoutingError('unauthenticated', 'the authorization header must be "Bearer <token>"');
  return match[1];
}

/** The caller's `x-correlation-id` metadata (first value, at most 100 characters), or undefined. */
export function correlationIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get('x-correlation-id')[0];
  return value === undefined ? undefined : String(value).slice(0, 100);
}
