/**
 * Per-request observability of the REST app: the correlation id (fastify's
 * request id, see {@link correlationIdOfRequest}) is answered in
 * `x-correlation-id` and opens a correlation scope around the request's hooks
 * and handler; when the response is sent, its route, method, status and
 * duration are handed to the metrics.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CORRELATION_HEADER, openCorrelationScope } from './correlation.ts';

/** Receives one finished request (route pattern, or "unmatched"). */
export type HttpObserver = (route: string, method: string, status: number, seconds: number) => void;

/** Installs the hooks on `app` (before its routes, so they cover every route). */
export function installHttpObservability(app: FastifyInstance, observe?: HttpObserver): void {
  const scopes = new WeakMap<FastifyRequest, ReturnType<typeof openCorrelationScope>>();
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(CORRELATION_HEADER, request.id);
    const scope = openCorrelationScope(request.id);
    scopes.set(request, scope);
    scope.run(done);
  });
  // Body parsing may leave the scope behind; enter it again for the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    const scope = scopes.get(request);
    if (scope) scope.run(done);
    else done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    scopes.get(request)?.close();
    observe?.(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
