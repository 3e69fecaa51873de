/** A grpc-js client interceptor that times every call to the routing server and reports its method and final status. */
import { InterceptingCall, status, type Interceptor } from '@grpc/grpc-js';

/** Receives one finished call: `TokenService/GetToken`, `OK`, seconds. */
export type RoutingCallObserver = (method: string, code: string, seconds: number) => void;

/** The interceptor for `connectRouting({ interceptors: [...] })`. */
export function routingCallInterceptor(observe: RoutingCallObserver): Interceptor {
  return (options, nextCall) => {
    // "/fhirmesh.routing.v1.TokenService/GetToken" → "TokenService/GetToken"
    const method = options.method_definition.path.replace(/^\/(?:[^./]+\.)*/, '');
    const started = performance.now();
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(received, nextStatus) {
            observe(method, status[received.code] ?? String(received.code), (performance.now() - started) / 1000);
            nextStatus(received);
          },
        });
      },
    });
  };
}
