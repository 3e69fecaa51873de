/**
 * Undecodable request messages are the caller's fault: grpc-js answers a
 * request whose bytes fail to deserialize with INTERNAL before any handler
 * runs, which reads as a server bug (alerts, retries). `guardDecoding` wraps a
 * service so such a request reaches the handler wrapper and is answered
 * INVALID_ARGUMENT instead; decodable requests are untouched.
 */
import { status, type handleUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

const undecodable = Symbol('undecodable request');

type Marked = { [undecodable]?: true };

/** `definition` and `implementation` with request decoding failures answered INVALID_ARGUMENT (unary methods). */
export function guardDecoding<D extends ServiceDefinition, I extends UntypedServiceImplementation>(definition: D, implementation: I): [D, I] {
  const guardedDefinition: Record<string, unknown> = {};
  const guardedImplementation: Record<string, unknown> = { ...implementation };
  for (const [name, method] of Object.entries(definition)) {
    const unary = !method.requestStream && !method.responseStream;
    const handler = implementation[name] as handleUnaryCall<unknown, unknown> | undefined;
    if (!unary || !handler) {
      guardedDefinition[name] = method;
      continue;
    }
    guardedDefinition[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return { [undecodable]: true } satisfies Marked;
        }
      },
    };
    guardedImplementation[name] = ((call, callback) => {
      if ((call.request as Marked | null)?.[undecodable]) {
        callback({ code: status.INVALID_ARGUMENT, details: `the request is not a valid ${method.path} message` });
        return;
      }
      handler(call, callback);
    }) satisfies handleUnaryCall<unknown, unknown>;
  }
  return [guardedDefinition as D, guardedImplementation as I];
}
