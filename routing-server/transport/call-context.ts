/** Reading callers' credentials from gRPC metadata. */
import type { Metadata } from '@grpc/grpc-js';
import { bearerFromMetadata } from '../../common/auth/bearer.ts';
import { RoutingError } from '../domain/errors.ts';

/** The bearer value of the `authorization` metadata, or undefined when absent. Malformed headers are `unauthenticated`. */
export function bearerToken(metadata: Metadata): string | undefined {
  return bearerFromMetadata(metadata, unauthenticated);
}

const unauthenticated = (reason: string) => new RoutingError('unauthenticated', reason);

/** The caller's `x-correlation-id` metadata (first value, at most 100 characters), or undefined. */
export function correlationIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get('x-correlation-id')[0];
  return value === undefined ? undefined : String(value).slice(0, 100);
}
