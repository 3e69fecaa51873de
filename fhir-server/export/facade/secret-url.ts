/** A URL whose query string is a secret (a SAS): it prints, logs and serialises without it. */
import { inspect } from 'node:util';

/** See the module comment; `reveal()` is the only way to the full URL. */
export class SecretUrl {
  readonly #value: string;
  /** The URL without its query string, safe to show. */
  readonly safe: string;
  /** Origin and path only (no query, no marker): the resource the URL names. */
  readonly base: string;

  /** Wraps `value`. */
  constructor(value: string) {
    this.#value = value;
    const url = new URL(value);
    this.base = `${url.origin}${url.pathname}`;
    this.safe = `${this.base}${url.search ? '?[redacted]' : ''}`;
  }

  /** The full URL, for the one place that stores it (Key Vault). */
  reveal(): string {
    return this.#value;
  }

  /** The safe form. */
  toString(): string {
    return this.safe;
  }

  /** The safe form (JSON, pino). */
  toJSON(): string {
    return this.safe;
  }

  /** The safe form (`util.inspect`, `console.log`). */
  [inspect.custom](): string {
    return `SecretUrl(${this.safe})`;
  }
}
