/**
 * gRPC server reflection fed with the descriptor set built by buf
 * (gen/descriptors.binpb), so Go clients such as grpcurl and `buf curl` can
 * resolve every type, well-known types included.
 */
import { ReflectionService } from '@grpc/reflection';
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the buf-built descriptor set (imports included, no source info). */
export const descriptorSetPath = fileURLToPath(new URL('../../gen/descriptors.binpb', import.meta.url));

let cachedFiles: Buffer[] | undefined;

/** The serialized FileDescriptorProtos of the descriptor set, one per file. */
export function fileDescriptorProtos(): Buffer[] {
  if (!cachedFiles) {
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath));
    cachedFiles = set.file.map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  }
  return cachedFiles;
}

/** Adds reflection (v1 and v1alpha) for `services` (fully-qualified names) to `server`. */
export function addReflection(server: Server, services: string[]): void {
  // ReflectionService only reads `fileDescriptorProtos` from the package definition.
  const pkg = { files: { fileDescriptorProtos: fileDescriptorProtos() } } as unknown as PackageDefinition;
  new ReflectionService(pkg, { services: [...services, 'grpc.health.v1.Health'] }).addToServer(server);
}
