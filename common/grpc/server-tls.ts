/** TLS server credentials for gRPC servers (client certificates optional). */
import { ServerCredentials } from '@grpc/grpc-js';

/** PEM material for a TLS gRPC server. */
export interface GrpcServerTls {
  /** Server certificate chain (PEM). */
  certPem: string;
  /** Server private key (PEM). */
  keyPem: string;
  /** CA (PEM) for verifying client certificates; when set, clients MAY present one. */
  clientCaPem?: string;
  /** Refuse clients without a certificate signed by clientCaPem. */
  requireClientCertificate?: boolean;
}

/** Builds grpc-js server credentials; never insecure. */
export function serverCredentials(tls: GrpcServerTls): ServerCredentials {
  return ServerCredentials.createSsl(
    tls.clientCaPem ? Buffer.from(tls.clientCaPem) : null,
    [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
    tls.requireClientCertificate === true,
  );
}
