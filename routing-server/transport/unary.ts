/** Adapts an async handler to grpc-js: error mapping, deadline awareness, a count per status code and one log line per call. */
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RoutingError } from '../domain/errors.ts';
import { correlationIdOf } from './call-context.ts';
import { toServiceError } from './status.ts';

/** Wraps `handler` as a grpc-js unary handler named `method` for logs; `counts[code]` counts its calls by status (metrics). */
export function unary<Req, Res>(
  method: string,
  logger: Logger,
  handler: (call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  counts: number[] = [],
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = process.hrtime.bigint();
    handler(call).then(
      (response) => {
        if (!call.cancelled) callback(null, response);
        counts[status.OK] = (counts[status.OK] ?? 0) + 1;
        logCall(logger, method, started, status.OK, call, 'info');
      },
      (err: unknown) => {
        const serviceError = toServiceError(err);
        if (!call.cancelled) callback(serviceError);
        counts[serviceError.code] = (counts[serviceError.code] ?? 0) + 1;
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
  const correlationId = correlationIdOf(call.metadata);
  if (correlationId) fields.correlationId = correlationId;
  logger[level](fields, 'grpc call');
}
