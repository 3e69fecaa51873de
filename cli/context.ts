/** What every command gets: its streams, the environment, and connections built from its options. */
import type { Command } from 'commander';
import { Connection, type ConnectionFlags } from './connection.ts';
import { FhirClient } from './fhir-client.ts';
import type { Io } from './io.ts';
import { meshFilePath, readMeshFile } from './mesh-file.ts';
import { RoutingClient } from './routing-client.ts';

/** The context of a run. */
export interface CliContext {
  /** Output streams. */
  io: Io;
  /** Environment variables. */
  env: NodeJS.ProcessEnv;
}

/** The connection settings of `command` (its options and its parents'). */
export function connectionOf(command: Command, ctx: CliContext): Connection {
  return new Connection(command.optsWithGlobals<ConnectionFlags>(), ctx.env, readMeshFile(meshFilePath(ctx.env)));
}

/** Runs `fn` with a routing-server client, closed afterwards. */
export async function withRouting<T>(command: Command, ctx: CliContext, fn: (routing: RoutingClient, connection: Connection) => Promise<T>): Promise<T> {
  const connection = connectionOf(command, ctx);
  const routing = new RoutingClient(connection);
  try {
    return await fn(routing, connection);
  } finally {
    routing.close();
  }
}

/** Runs `fn` with a fhir-server client, closed afterwards. */
export async function withFhir<T>(command: Command, ctx: CliContext, fn: (fhir: FhirClient, connection: Connection) => Promise<T>): Promise<T> {
  const connection = connectionOf(command, ctx);
  const fhir = new FhirClient(connection);
  try {
    return await fn(fhir, connection);
  } finally {
    fhir.close();
  }
}
