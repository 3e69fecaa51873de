/**
 * Undecodable request messages are the caller's fault: grpc-js answers a
 * request whose bytes fail to deserialize with INTERNAL before any handler
 * runs, which reads as a server bug (alerts, retries). `guardDecoding` wraps a
 * service so such a request reaches the handler wrapper and is answered
 * INVALID_ARGUMENT instead; decodable requests are untouched. Methods with a
 * single request (unary and server-streaming) are guarded; a client-streaming
 * method's messages are not.
 */
import { status, type handleServerStreamingCall, type handleUnaryCall, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

const undecodable = Symbol('undecodable request');

type Marked = { [undecodable]?: true };

/** `definition` and `implementation` with request decoding failures answered INVALID_ARGUMENT (methods with a single request). */
export function guardDecoding<D extends ServiceDefinition, I extends UntypedServiceImplementation>(definition: D, implementation: I): [D, I] {
  const guardedDefinition: Record<string, unknown> = {};
  const guardedImplementation: Record<string, unknown> = { ...implementation };
  for (const [name, method] of Object.entries(definition)) {
    // grpc-js finds a handler by the method's name or, failing that, its originalName (proto-loader's camelCase).
    const key = name in implementation ? name : ((method as { originalName?: string }).originalName ?? name);
    const handler = implementation[key] as handleUnaryCall<unknown, unknown> | handleServerStreamingCall<unknown, unknown> | undefined;
    if (method.requestStream || !handler) {
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
    const refusal = { code: status.INVALID_ARGUMENT, details: `the request is not a valid ${method.path} message` };
    guardedImplementation[key] = method.responseStream
      ? (((call) => {
          if ((call.request as Marked | null)?.[undecodable]) call.emit('error', refusal);
          else (handler as handleServerStreamingCall<unknown, unknown>)(call);
        }) satisfies handleServerStreamingCall<unknown, unknown>)
      : (((call, callback) => {
          if ((call.request as Marked | null)?.[undecodable]) callback(refusal);
          else (handler as handleUnaryCall<unknown, unknown>)(call, callback);
        }) satisfies handleUnaryCall<unknown, unknown>);
  }
  return [guardedDefinition as D, guardedImplementation as I];
}

/**
 * A view of `server` for library code that registers its own services (the
 * standard health service): each service it adds is guarded as above.
 */
export function guardingServer(server: Server): Server {
  return new Proxy(server, {
    get(target, prop, receiver) {
      if (prop === 'addService') {
        return (definition: ServiceDefinition, implementation: UntypedServiceImplementation) => target.addService(...guardDecoding(definition, implementation));
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
