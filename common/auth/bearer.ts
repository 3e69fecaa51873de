/** Bearer credentials: `Authorization: Bearer <token>` in an HTTP header or gRPC metadata. */
import type { Metadata } from '@grpc/grpc-js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of a `Bearer <token>` value, or undefined when the value is not of that form. */
export function parseBearer(value: string | undefined): string | undefined {
  return value === undefined ? undefined : BEARER.exec(value)?.[1];
}

/**
 * The bearer token of the `authorization` metadata, or undefined when absent. Several values or a
 * malformed one throw `refuse(reason)` (the caller's own "unauthenticated" error).
 */
export function bearerFromMetadata(metadata: Metadata, refuse: (reason: string) => Error): string | undefined {
  const values = metadata.get('authorization');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw refuse('send exactly one authorization header');
  const token = parseBearer(String(values[0]));
  if (token === undefined) throw refuse('the authorization header must be "Bearer <token>"');
  return token;
}
