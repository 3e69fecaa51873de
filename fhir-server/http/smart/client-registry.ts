/** Where SMART clients are kept: the port, and an in-memory adapter for tests and single-process experiments. */
import type { SmartClient } from './client.ts';

/** Registered SMART clients. */
export interface SmartClientRegistry {
  /** Stores a new client (its id is fresh). */
  create(client: SmartClient): Promise<void>;
  /** The client, or undefined. */
  get(clientId: string): Promise<SmartClient | undefined>;
  /** Every client, oldest first. */
  list(): Promise<SmartClient[]>;
  /** Removes a client; false when there was none. */
  delete(clientId: string): Promise<boolean>;
  /** Applies `change` to a stored client; the client as stored, or undefined when there is none. */
  update(clientId: string, change: Pick<SmartClient, 'disabled'>): Promise<SmartClient | undefined>;
}

/** A registry in memory. */
export class MemorySmartClientRegistry implements SmartClientRegistry {
  readonly #clients = new Map<string, SmartClient>();

  async create(client: SmartClient): Promise<void> {
    this.#clients.set(client.clientId, structuredClone(client));
  }

  async get(clientId: string): Promise<SmartClient | undefined> {
    const client = this.#clients.get(clientId);
    return client ? structuredClone(client) : undefined;
  }

  async list(): Promise<SmartClient[]> {
    return [...this.#clients.values()].map((c) => structuredClone(c)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async delete(clientId: string): Promise<boolean> {
    return this.#clients.delete(clientId);
  }

  async update(clientId: string, change: Pick<SmartClient, 'disabled'>): Promise<SmartClient | undefined> {
    const client = this.#clients.get(clientId);
    if (!client) return undefined;
    const updated = { ...client, ...change };
    this.#clients.set(clientId, updated);
    return structuredClone(updated);
  }
}
