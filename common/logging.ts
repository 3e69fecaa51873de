/** pino loggers with tokens, secrets and authorization headers redacted. */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths redacted in every log line. */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'metadata.authorization',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
  'sasUrl',
  '*.sasUrl',
];

/** A JSON logger named `name` at `level` (to `destination`, default stdout). */
export function createLogger(name: string, level = 'info', destination?: DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
