/**
 * `fhirmesh.fhir.v1.ExportService` over the same front door as the REST
 * routes: the same validation, the same jobs, the same file links. Callers
 * authenticate with `authorization: Bearer <access token>` metadata, checked
 * by an injected verifier; the token must carry the export role or scope.
 */
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ExportServiceService, type ExportServiceServer } from '../../../gen/fhirmesh/fhir/v1/export_service.ts';
import { isClientFault, TokenVerificationError, type VerifiedToken } from '../../../common/auth/entra-token-verifier.ts';
import { bearerFromMetadata } from '../../../common/auth/bearer.ts';
import { FhirError } from '../../fhir/errors.ts';
import type { ExportCaller, ExportJobView } from '../ports.ts';
import type { ExportFrontDoor } from './front-door.ts';
import { exportJobOf, kickoffOf } from './grpc-mapping.ts';
import { toServiceError } from './grpc-status.ts';

/** What the service needs. */
export interface ExportGrpcDeps {
  /** The shared operations (`registerExportRoutes` returns one; or `new ExportFrontDoor(...)`). */
  frontDoor: ExportFrontDoor;
  /** Verifies a bearer token (`createEntraTokenVerifier`); throws `TokenVerificationError` to refuse it. */
  verify: (token: string | undefined) => Promise<VerifiedToken>;
  /** App role or scope a caller needs (e.g. `Fhir.Export`). */
  requiredPermission: string;
  /** Public FHIR base URL: request URLs and download links. */
  baseUrl: string;
  /** One line per call (default silent). */
  logger?: Logger;
}

/** The service definition, for `server.addService(exportServiceDefinition, exportService(deps))`. */
export const exportServiceDefinition = ExportServiceService;

const unauthenticated = (reason: string) => new FhirError('unauthenticated', reason);

/** Builds the service implementation. */
export function exportService(deps: ExportGrpcDeps): ExportServiceServer {
  const authenticate = async (call: ServerUnaryCall<unknown, unknown>): Promise<ExportCaller> => {
    let verified: VerifiedToken;
    try {
      verified = await deps.verify(bearerFromMetadata(call.metadata, unauthenticated));
    } catch (err) {
      if (err instanceof TokenVerificationError && !isClientFault(err)) {
        throw new FhirError('unavailable', 'The token signing keys cannot be fetched right now; retry later', { retryAfterSeconds: 5 });
      }
      if (err instanceof TokenVerificationError) throw new FhirError('unauthenticated', `Authentication failed: ${err.message}`);
      throw err;
    }
    const { claims } = verified;
    const principal = claims.oid ?? claims.sub ?? claims.appid ?? claims.azp;
    if (typeof principal !== 'string' || principal === '') throw new FhirError('unauthenticated', 'the bearer token names no principal (oid, sub or appid)');
    if (!verified.permissions.has(deps.requiredPermission)) throw new FhirError('forbidden', `the caller lacks the ${deps.requiredPermission} app role or scope`);
    const correlationId = call.metadata.get('x-correlation-id')[0];
    return { principal, ...(correlationId ? { correlationId: String(correlationId).slice(0, 100) } : {}) };
  };
  const answer = async (job: ExportJobView, caller: ExportCaller) => ({
    job: exportJobOf(job, job.status === 'completed' ? await deps.frontDoor.fileLinks(job, caller, deps.baseUrl) : undefined),
  });
  const unary = <Req, Res>(method: string, run: (request: Req, caller: ExportCaller) => Promise<Res>): handleUnaryCall<Req, Res> =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      authenticate(call as ServerUnaryCall<unknown, unknown>)
        .then((caller) => run(call.request, caller))
        .then(
          (response) => callback(null, response),
          (err: unknown) => {
            const serviceError = toServiceError(err);
            const level = serviceError.code === status.INTERNAL ? 'error' : 'info';
            deps.logger?.[level]({ method, code: serviceError.code, reason: serviceError.details, ...(level === 'error' ? { err } : {}) }, 'export call refused');
            callback(serviceError);
          },
        );
    };
  return {
    startExport: unary('StartExport', async (request, caller) => answer(await deps.frontDoor.start(kickoffOf(request, deps.baseUrl), caller), caller)),
    getExport: unary('GetExport', async (request, caller) => answer(await deps.frontDoor.get(request.jobId, caller), caller)),
    cancelExport: unary('CancelExport', async (request, caller) => answer(await deps.frontDoor.cancel(request.jobId, caller), caller)),
  };
}
