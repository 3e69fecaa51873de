/**
 * Serializes each response object once. For a service whose handler answers
 * with the same (immutable) object again and again — the routing server's
 * cached token, one wire response per token — grpc-js would otherwise encode
 * identical bytes on every call. grpc-js copies the bytes into its own frame,
 * so sharing them is safe. Objects are held weakly: bytes go with their object.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

/** `definition` with the response serializer of `methods` memoized per response object. */
export function memoizeResponses<D extends ServiceDefinition>(definition: D, methods: ReadonlyArray<keyof D & string>): D {
  const out: Record<string, unknown> = { ...definition };
  for (const name of methods) {
    const method = definition[name]!;
    const bytes = new WeakMap<object, Buffer>();
    out[name] = {
      ...method,
      responseSerialize: (value: object) => {
        let encoded = bytes.get(value);
        if (!encoded) bytes.set(value, (encoded = method.responseSerialize(value)));
        return encoded;
      },
    };
  }
  return out as D;
}
