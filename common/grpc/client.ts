/** Helpers for calling the mesh's gRPC services: TLS credentials, bearer metadata, promise-based unary calls. */
import { credentials, Metadata, type CallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

/** TLS channel credentials trusting `caPem` (system CAs when undefined). */
export function tlsChannelCredentials(caPem?: string, client?: { certPem: string; keyPem: string }): ChannelCredentials {
  return credentials.createSsl(caPem ? Buffer.from(caPem) : null, client ? Buffer.from(client.keyPem) : null, client ? Buffer.from(client.certPem) : null);
}

/** Metadata carrying `authorization: Bearer <token>` (and a correlation id when given). */
export function bearerMetadata(token: string, correlationId?: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  if (correlationId) md.set('x-correlation-id', correlationId);
  return md;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls a generated client's unary method and resolves with its response; `timeoutMs` sets the deadline. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, thisArg: unknown, request: Req, metadata = new Metadata(), timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(thisArg, request, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
