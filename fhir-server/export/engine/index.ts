/**
 * The export engine's public surface: the `ExportJobs` implementation, its
 * composition on Azure services, its settings, and what a front door asks
 * before kick-off (is this `_typeFilter` supported, which types a level covers).
 */
export { ExportEngine, type ExportEngineDeps } from './export-engine.ts';
export { openExportEngine, type OpenExportEngineOptions } from './open.ts';
export { exportDefaults, resolveExportOptions, type ExportEngineOptions, type ExportJobConfiguration } from './options.ts';
export { typeFilterProblem, typeFilterWhere } from './type-filter.ts';
export { compartmentTypes } from './plan.ts';
export { WorkerPool } from './worker-pool.ts';
export { BlobDestinations, type DestinationResolver, type DestinationSecrets } from './destinations.ts';
export { keyVaultDestinationSecrets, secretClientDestinationSecrets } from './key-vault-secrets.ts';
export { CosmosJobStore, openCosmosJobStore } from './cosmos-job-store.ts';
export type { JobStore } from './job-store.ts';
export type { EngineHooks } from './context.ts';
