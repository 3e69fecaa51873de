/**
 * Entra ID stand-in: OpenID metadata, JWKS and a strict client-credentials
 * token endpoint on loopback HTTPS, for the real Azure SDKs to talk to.
 */
export { startEntra } from './server.ts';
export type { EntraOptions, EntraStandIn } from './types.ts';
export type { ApplicationRegistration, ApplicationSummary, ApplicationUpdate, RegisteredApplication } from './directory.ts';
export type { SecretCredentialInput } from './credentials.ts';
export type { AssertionReplayPolicy } from './assertion.ts';
export type { Fault } from './faults.ts';
export type { EntraStats, TokenCounts } from './stats.ts';
export { Aadsts } from './errors.ts';
export { builtInResources } from './directory.ts';
