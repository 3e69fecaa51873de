/** Reading callers' credentials from gRPC metadata. */
import type { Metadata } from '@grpc/grpc-js';
import { bearerFromMetadata } from '../../common/auth/bearer.ts';
import { RoutingError } from '../domain/errors.ts';

/** The bearer value of the `authorization` metadata, or undefined when absent. Malformed headers are `unauthenticated`. */
export function bearerToken(metadata: Metadata): string | undefined {
  return bearerFromMetadata(metadata, unauthenticated);
}

const unauthenticated = (reason: string) => new RoutingError('unauthenticated', reason);

/** The caller's address without its port (`127.0.0.1`, `::1`), from grpc-js's `host:port` peer string. */
export function peerAddressOf(call: { getPeer(): string }): string {
  const peer = call.getPeer();
  const colon = peer.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon).replace(/^\[|\]$/g, '') : peer;
}

/** The caller's `x-correlation-id` metadata (first value, at most 100 characters), or undefined. */
export function correlationIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get('x-correlation-id')[0];
  return value === undefined ? undefined : String(value).slice(0, 100);
}
