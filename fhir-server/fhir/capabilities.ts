/**
 * The server's CapabilityStatement, built from what is registered: the core
 * interactions come with the registry; other features (the Bulk Data export
 * operations, security) register themselves and appear in `GET /metadata`.
 */
import { r4ResourceTypes, transientResourceTypes } from './resource-types.ts';
import type { FhirResource } from './types.ts';

/** An operation the server offers. */
export interface OperationCapability {
  /** Name without `$`, e.g. `export`. */
  name: string;
  /** Canonical URL of its OperationDefinition. */
  definition: string;
  /** Resource types it is offered on (type or instance level); none means system level. */
  resourceTypes?: string[];
  /** Free text. */
  documentation?: string;
}

/** Interactions offered on every stored resource type. */
export const coreTypeInteractions: readonly string[] = Object.freeze(['read', 'vread', 'create', 'update', 'delete', 'history-instance', 'history-type']);
/** System interactions offered. */
export const coreSystemInteractions: readonly string[] = Object.freeze(['transaction', 'batch', 'history-system']);

/** Identity of the software in the statement. */
export interface SoftwareInfo {
  /** Name. */
  name: string;
  /** Version. */
  version: string;
}

/** What `GET /metadata` lists; features add themselves through `addOperation`, `addInstantiates` and `extend`. */
export class CapabilityRegistry {
  readonly #software: SoftwareInfo;
  readonly #operations: OperationCapability[] = [];
  readonly #instantiates: string[] = [];
  readonly #extensions: ((statement: FhirResource, baseUrl: string) => void)[] = [];
  readonly #date = new Date().toISOString();

  constructor(software: SoftwareInfo = { name: 'fhirmesh fhir-server', version: '0.1.0' }) {
    this.#software = software;
  }

  /** Lists an operation (replaces an earlier registration of the same name and scope). */
  addOperation(operation: OperationCapability): this {
    const key = (o: OperationCapability) => `${o.name}|${(o.resourceTypes ?? []).join(',')}`;
    const at = this.#operations.findIndex((o) => key(o) === key(operation));
    if (at >= 0) this.#operations.splice(at, 1);
    this.#operations.push({ ...operation });
    return this;
  }

  /** Declares that the server implements another CapabilityStatement (e.g. the Bulk Data IG's). */
  addInstantiates(canonical: string): this {
    if (!this.#instantiates.includes(canonical)) this.#instantiates.push(canonical);
    return this;
  }

  /** Adds a hook that edits the built statement (e.g. to add `rest.security`); it is given the statement's base URL. */
  extend(hook: (statement: FhirResource, baseUrl: string) => void): this {
    this.#extensions.push(hook);
    return this;
  }

  /** Builds the statement for a server at `baseUrl`. */
  build(baseUrl: string): FhirResource {
    const operationsOf = (type?: string) =>
      this.#operations
        .filter((o) => (type ? o.resourceTypes?.includes(type) : !o.resourceTypes?.length))
        .map((o) => ({ name: o.name, definition: o.definition, ...(o.documentation ? { documentation: o.documentation } : {}) }));
    const resource = r4ResourceTypes()
      .filter((type) => !transientResourceTypes.has(type))
      .map((type) => {
        const operation = operationsOf(type);
        return {
          type,
          interaction: coreTypeInteractions.map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          ...(operation.length ? { operation } : {}),
        };
      });
    const systemOperations = operationsOf();
    const statement: FhirResource = {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: this.#date,
      kind: 'instance',
      ...(this.#instantiates.length ? { instantiates: [...this.#instantiates] } : {}),
      software: { ...this.#software },
      implementation: { description: 'FHIR R4 resource server', url: baseUrl },
      fhirVersion: '4.0.1',
      format: ['application/fhir+json', 'json'],
      rest: [
        {
          mode: 'server',
          resource,
          interaction: coreSystemInteractions.map((code) => ({ code })),
          ...(systemOperations.length ? { operation: systemOperations } : {}),
        },
      ],
    };
    for (const hook of this.#extensions) hook(statement, baseUrl);
    return statement;
  }
}
