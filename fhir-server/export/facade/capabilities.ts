/** The Bulk Data export operations in the CapabilityStatement (system, Patient and Group level). */
import type { CapabilityRegistry } from '../../fhir/capabilities.ts';

/** The IG's CapabilityStatement this server instantiates. */
export const bulkDataCapabilityStatement = 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data';

/** Canonical URLs of the IG's OperationDefinitions. */
export const exportOperationDefinitions = Object.freeze({
  system: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  patient: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
  group: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
});

const destinationDoc =
  'Files go to the default storage account (container `_container`, default configured) or, in a POST body, to a client container named by `_destination` (an https container URL with a SAS; kept in Key Vault, never stored with the job).';

/** Registers `$export` at system, Patient and Group level and the IG's CapabilityStatement. */
export function registerExportCapabilities(registry: CapabilityRegistry): CapabilityRegistry {
  return registry
    .addInstantiates(bulkDataCapabilityStatement)
    .addOperation({ name: 'export', definition: exportOperationDefinitions.system, documentation: `Bulk Data system-level export. ${destinationDoc}` })
    .addOperation({ name: 'export', definition: exportOperationDefinitions.patient, resourceTypes: ['Patient'], documentation: `Bulk Data export of all patients. ${destinationDoc}` })
    .addOperation({ name: 'export', definition: exportOperationDefinitions.group, resourceTypes: ['Group'], documentation: `Bulk Data export of a Group's members. ${destinationDoc}` });
}
