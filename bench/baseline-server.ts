/**
 * The benchmark's baseline: a bare grpc-js server with the same TLS settings
 * answering TokenService.GetToken with a fixed response (no auth, no cache, no
 * logic), so the ratio isolates what the token path costs above gRPC itself.
 * Usage: node --import tsx bench/baseline-server.ts <certFile> <keyFile> <responseJsonFile>
 */
import { Server } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { TokenServiceService, GetTokenResponse, type TokenServiceServer } from '../gen/fhirmesh/routing/v1/token_service.ts';
import { memoizeResponses } from '../common/grpc/memoized-responses.ts';
import { serverCredentials } from '../common/grpc/server-tls.ts';
import { SERVER_OPTIONS } from '../routing-server/transport/server.ts';

const [certFile, keyFile, responseFile] = process.argv.slice(2);
const response = GetTokenResponse.fromJSON(JSON.parse(readFileSync(responseFile!, 'utf8')));
const impl: TokenServiceServer = { getToken: (_call, callback) => callback(null, response) };
// The routing server's own channel options, so only the token path differs.
const server = new Server(SERVER_OPTIONS);
// Its fixed response is encoded once, as the routing server encodes each cached token's response once:
// both then pay gRPC's per-call cost and nothing else, and the ratio shows only what the token path adds.
server.addService(memoizeResponses(TokenServiceService, ['getToken']), impl);
server.bindAsync('127.0.0.1:0', serverCredentials({ certPem: readFileSync(certFile!, 'utf8'), keyPem: readFileSync(keyFile!, 'utf8') }), (err, port) => {
  if (err) throw err;
  process.stdout.write(`BASELINE_READY ${JSON.stringify({ address: `127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
