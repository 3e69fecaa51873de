/** A minimal grpc.health.v1 client: Check(service) → SERVING / NOT_SERVING / UNKNOWN, encoded by hand (two tiny messages). */
import { Client, Metadata, type ChannelCredentials } from '@grpc/grpc-js';

const names = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** Encodes HealthCheckRequest { service = 1 }. */
function encodeRequest(service: string): Buffer {
  const bytes = Buffer.from(service, 'utf8');
  return bytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

/** Decodes HealthCheckResponse { status = 1 } (absent: UNKNOWN). */
function decodeResponse(buf: Buffer): string {
  return buf.length >= 2 && buf[0] === 0x08 ? (names[buf[1]!] ?? String(buf[1])) : 'UNKNOWN';
}

/** The serving status of `service` ('' for the whole server) at `address`. */
export function checkHealth(address: string, credentials: ChannelCredentials, service = ''): Promise<string> {
  const client = new Client(address, credentials);
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      encodeRequest,
      decodeResponse,
      service,
      new Metadata(),
      { deadline: Date.now() + 5_000 },
      (err, value) => (err ? reject(err) : resolve(value!)),
    );
  }).finally(() => client.close());
}
