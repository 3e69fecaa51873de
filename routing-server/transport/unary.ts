/** Adapts an async handler to grpc-js: error mapping, deadline awareness and one log line per call. */
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RoutingError } from '../domain/errors.ts';
import { toServiceError } from './status.ts';

/** Wraps `handler` as a grpc-js unary handler named `method` for logs. */
export function unary<Req, Res>(method: string, logger: Logger, handler: (call: ServerUnaryCall<Req, Res>) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = process.hrtime.bigint();
    handler(call).then(
      (response) => {
        if (!call.cancelled) callback(null, response);
        logCall(logger, method, started, status.OK, call);
      },
      (err: unknown) => {
        const serviceError = toServiceError(err);
        if (!call.cancelled) callback(serviceError);
        const level = serviceError.code === status.INTERNAL ? 'error' : 'info';
        logCall(logger, method, started, serviceError.code, call, level, err);
      },
    );
  };
}

function logCall(logger: Logger, method: string, started: bigint, code: number, call: ServerUnaryCall<unknown, unknown>, level: 'info' | 'error' | 'debug' = 'debug', err?: unknown): void {
  if (!logger.isLevelEnabled(level)) return;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const fields: Record<string, unknown> = { method, code, ms: Math.round(ms * 100) / 100, peer: call.getPeer(), cancelled: call.cancelled || undefined };
  if (err instanceof RoutingError) fields.reason = err.message;
  else if (err) fields.err = err;
  const correlationId = call.metadata.get('x-correlation-id')[0];
  if (correlationId) fields.correlationId = String(correlationId).slice(0, 100);
  logger[level](fields, 'grpc call');
}
