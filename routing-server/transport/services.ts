/** The routing server's gRPC services: thin adapters from the wire to the domain use cases. */
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AccountConfigurationServiceServer } from '../../gen/fhirmesh/routing/v1/account_configuration_service.ts';
import type { AccountServiceServer } from '../../gen/fhirmesh/routing/v1/account_service.ts';
import type { RefreshTokenServiceServer } from '../../gen/fhirmesh/routing/v1/refresh_token_service.ts';
import type { GetTokenRequest, GetTokenResponse, TokenServiceServer } from '../../gen/fhirmesh/routing/v1/token_service.ts';
import type { ResourceToken } from '../domain/token-provider.ts';
import type { AccountAdmin } from '../domain/account-admin.ts';
import { RoutingError } from '../domain/errors.ts';
import type { RefreshTokenManager } from '../domain/refresh-tokens.ts';
import type { TokenUseCases } from '../domain/token-service.ts';
import { GrpcCallCounts } from '../../common/metrics/grpc-call-counts.ts';
import { accountFromWire, accountToWire, tokenInfoToWire } from './account-mapper.ts';
import { bearerToken, correlationIdOf, peerAddressOf } from './call-context.ts';
import { unary } from './unary.ts';

/** Checks the admin credential of a call; throws `unauthenticated` or `permission-denied`. */
export type AdminGuard = (metadata: Metadata) => Promise<void>;

/** Everything the services need. */
export interface ServiceDeps {
  tokens: TokenUseCases;
  refreshTokens: RefreshTokenManager;
  accounts: AccountAdmin;
  requireAdmin: AdminGuard;
  logger: Logger;
  /** Calls by method and status code (metrics); default: counted, not exposed. */
  calls?: GrpcCallCounts;
}

/** The per-status counts of `method` in `deps`. */
function countsOf(deps: ServiceDeps, method: string): number[] {
  deps.calls ??= new GrpcCallCounts();
  return deps.calls.of(method);
}

/** TokenService: GetToken for the caller's own identity. */
export function tokenService(deps: ServiceDeps): TokenServiceServer {
  // One wire response per cached token object: the hot path allocates nothing new.
  const responses = new WeakMap<ResourceToken, GetTokenResponse>();
  const toWire = (answer: ResourceToken): GetTokenResponse => {
    let response = responses.get(answer);
    if (!response) {
      response = {
        accessToken: answer.token,
        tokenType: 'Bearer',
        expiresOn: new Date(answer.expiresOnMs),
        refreshAfter: new Date(answer.refreshAfterMs),
        resourceUri: answer.resource,
      };
      responses.set(answer, response);
    }
    return response;
  };
  const method = 'TokenService/GetToken';
  const counts = countsOf(deps, method);
  const fullPath = unary<GetTokenRequest, GetTokenResponse>(
    method,
    deps.logger,
    async (call) => toWire(await deps.tokens.getToken(bearerToken(call.metadata), call.request.resourceUri, peerAddressOf(call))),
    counts,
  );
  return {
    getToken: (call, callback) => {
      // Hot path: everything cached, answered synchronously; anything else (including every error) takes the full path.
      let cached: ResourceToken | undefined;
      try {
        cached = deps.tokens.getCachedToken(bearerToken(call.metadata), call.request.resourceUri);
      } catch {
        cached = undefined;
      }
      if (cached) {
        counts[0]!++;
        callback(null, toWire(cached));
        // Cached answers are logged only when the caller asked to be traced (x-correlation-id).
        const correlationId = correlationIdOf(call.metadata);
        if (correlationId) deps.logger.info({ method, code: 0, cached: true, correlationId }, 'grpc call');
      } else fullPath(call, callback);
    },
  };
}

/** RefreshTokenService: rotate the caller's refresh token. */
export function refreshTokenService(deps: ServiceDeps): RefreshTokenServiceServer {
  return {
    rotateRefreshToken: unary('RefreshTokenService/RotateRefreshToken', deps.logger, async (call) => {
      const token = bearerToken(call.metadata);
      const { principal } = await deps.tokens.authenticate(token, peerAddressOf(call));
      const { issued, previousValidUntilMs } = await deps.refreshTokens.rotate(principal, token!);
      deps.logger.info({ account: principal.accountName, from: principal.tokenId, to: issued.doc.tokenId }, 'refresh token rotated');
      return {
        refreshToken: issued.token,
        tokenId: issued.doc.tokenId,
        expireTime: new Date(issued.doc.expireTime),
        previousTokenValidUntil: new Date(previousValidUntilMs),
      };
    }, countsOf(deps, 'RefreshTokenService/RotateRefreshToken')),
  };
}

/** AccountConfigurationService: a FHIR service reads its own account. */
export function accountConfigurationService(deps: ServiceDeps): AccountConfigurationServiceServer {
  return {
    getAccountConfiguration: unary('AccountConfigurationService/GetAccountConfiguration', deps.logger, async (call) => {
      const { account } = await deps.tokens.authenticate(bearerToken(call.metadata), peerAddressOf(call));
      return {
        accountName: account.name,
        fhirProperties: { exportJobConfiguration: { ...account.exportJobConfiguration } },
        allowedResourceUris: account.allowedResourceUris,
        etag: account.etag,
      };
    }, countsOf(deps, 'AccountConfigurationService/GetAccountConfiguration')),
  };
}

/** AccountService: the admin API. */
export function accountService(deps: ServiceDeps): AccountServiceServer {
  const admin = <Req, Res>(method: string, handler: (request: Req) => Promise<Res>) =>
    unary<Req, Res>(`AccountService/${method}`, deps.logger, async (call) => {
      await deps.requireAdmin(call.metadata);
      return handler(call.request);
    }, countsOf(deps, `AccountService/${method}`));
  const required = <T>(value: T | undefined, field: string): T => {
    if (value === undefined || value === null) throw new RoutingError('invalid-argument', `${field} is required`);
    return value;
  };
  return {
    createAccount: admin('CreateAccount', async (req) => {
      const account = await deps.accounts.create(accountFromWire(required(req.account, 'account')));
      deps.logger.info({ account: account.name }, 'account created');
      return { account: accountToWire(account) };
    }),
    updateAccount: admin('UpdateAccount', async (req) => {
      const wire = required(req.account, 'account');
      const account = await deps.accounts.update(accountFromWire(wire), req.updateMask ?? [], wire.etag);
      deps.logger.info({ account: account.name, mask: req.updateMask }, 'account updated');
      return { account: accountToWire(account) };
    }),
    getAccount: admin('GetAccount', async (req) => ({ account: accountToWire(await deps.accounts.get(req.name)) })),
    listAccounts: admin('ListAccounts', async (req) => {
      const page = await deps.accounts.list(req.pageSize, req.pageToken);
      return { accounts: page.accounts.map(accountToWire), nextPageToken: page.nextPageToken };
    }),
    issueRefreshToken: admin('IssueRefreshToken', async (req) => {
      const account = await deps.accounts.get(req.accountName);
      const issued = await deps.refreshTokens.issue(account.name);
      deps.logger.info({ account: account.name, tokenId: issued.doc.tokenId }, 'refresh token issued');
      return { refreshToken: issued.token, info: tokenInfoToWire(issued.doc, 'active') };
    }),
    listRefreshTokens: admin('ListRefreshTokens', async (req) => {
      const account = await deps.accounts.get(req.accountName);
      const docs = await deps.refreshTokens.list(account.name);
      return { tokens: docs.map((d) => tokenInfoToWire(d, deps.refreshTokens.stateOf(d))) };
    }),
    revokeRefreshTokens: admin('RevokeRefreshTokens', async (req) => {
      const account = await deps.accounts.get(req.accountName);
      const revokedCount = await deps.refreshTokens.revoke(account.name, req.tokenId || undefined);
      deps.logger.info({ account: account.name, tokenId: req.tokenId || 'all', revokedCount }, 'refresh tokens revoked');
      return { revokedCount };
    }),
  };
}
