/**
 * The admin credential: an Entra ID access token for the routing server's API
 * (audience = its app id URI) carrying the admin app role. Operators get one
 * with the client-credentials flow as an app that was assigned the role.
 */
import type { Metadata } from '@grpc/grpc-js';
import { TokenVerificationError, type VerifiedToken } from '../../common/auth/entra-token-verifier.ts';
import { RoutingError } from '../domain/errors.ts';
import { bearerToken } from './call-context.ts';
import type { AdminGuard } from './services.ts';

/** Builds the guard from a token verifier and the required role. */
export function entraAdminGuard(verify: (token: string | undefined) => Promise<VerifiedToken>, role: string): AdminGuard {
  return async (metadata: Metadata) => {
    let verified: VerifiedToken;
    try {
      verified = await verify(bearerToken(metadata));
    } catch (err) {
      if (err instanceof TokenVerificationError) throw new RoutingError('unauthenticated', `admin authentication failed: ${err.message}`);
      throw err;
    }
    if (!verified.permissions.has(role)) throw new RoutingError('permission-denied', `the caller lacks the ${role} app role`);
  };
}
