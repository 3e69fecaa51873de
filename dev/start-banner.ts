/**
 * What `npm start` prints once the mesh is up: where everything is, and a
 * block of bash commands that work when copied as they are, for as long as
 * `npm start` runs (test/start/banner.test.ts runs them). The block starts
 * after the line {@link COMMANDS_HEADING} and ends at the first empty line.
 */

/** The line after which the copy-paste commands start. */
export const COMMANDS_HEADING = 'Try it (bash, in this folder; copy the lines as they are, while npm start runs):';

/** What the banner names. */
export interface BannerFacts {
  /** Seconds the start took. */
  seconds: number;
  /** Resources loaded. */
  resources: number;
  /** Patients loaded. */
  patients: number;
  /** Id of the seeded Group of all patients. */
  groupId: string;
  /** FHIR base URL. */
  base: string;
  /** host:port of the gRPC ExportService. */
  exportGrpcAddress: string;
  /** host:port of the routing server. */
  routingAddress: string;
  /** The routing server's metrics URL, when on. */
  routingMetricsUrl: string | undefined;
  /** The CA file. */
  caFile: string;
  /** File of the renewed Entra ID bearer token. */
  bearerTokenFile: string;
  /** File of the operator's refresh token. */
  operatorTokenFile: string;
  /** The demo SMART client. */
  smartClientId: string;
  /** Script printing a fresh SMART client assertion (relative to the checkout, where the commands run). */
  smartAssertionScript: string;
}

/** The banner text (ends with a newline). */
export function startBanner(f: BannerFacts): string {
  const bearer = '-H "Authorization: Bearer $(cat $BEARER)"';
  const commands = [
    `CA=${f.caFile}; BASE=${f.base}; ROUTING=https://${f.routingAddress}; BEARER=${f.bearerTokenFile}; OPERATOR=${f.operatorTokenFile}`,
    '# find the seeded Group by search and read it, then a Bulk Data export: kick-off, status (202 + X-Progress while it runs, then 200 + the manifest), files',
    `curl --cacert $CA ${bearer} "$BASE/Group?_elements=name,quantity"`,
    `curl --cacert $CA ${bearer} $BASE/Group/${f.groupId}`,
    `STATUS=$(curl --cacert $CA -s -o /dev/null -w '%header{content-location}' ${bearer} -H 'Accept: application/fhir+json' -H 'Prefer: respond-async' "$BASE/\\$export?_type=Patient,Observation")`,
    `curl --cacert $CA -i ${bearer} "$STATUS"`,
    'npx fhirmesh export follow "$STATUS" && npx fhirmesh export download "$STATUS" --dir out/export',
    '# the operator CLI (connection defaults from .local/mesh.json; docs/cli.md)',
    `npx fhirmesh export run --group ${f.groupId} --type Patient --dir out/group`,
    'npx fhirmesh account list',
    'npx fhirmesh token get https://storage.azure.com',
    '# the routing server by reflection (grpcurl works the same), called with the operator\'s refresh token',
    'npx buf curl --cacert $CA --protocol grpc --list-services $ROUTING',
    'npx buf curl --cacert $CA --protocol grpc -H "authorization: Bearer $(cat $OPERATOR)" -d \'{"resource_uri":"https://storage.azure.com"}\' $ROUTING/fhirmesh.routing.v1.TokenService/GetToken',
    `# SMART Backend Services (client ${f.smartClientId}; docs/smart-backend-services.md): a signed assertion buys an access token`,
    `SMART=$(curl --cacert $CA -s $BASE/auth/token -d grant_type=client_credentials -d 'scope=system/Patient.read system/Observation.read' -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer -d client_assertion=$(node ${f.smartAssertionScript}) | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
    'curl --cacert $CA -i -H "Authorization: Bearer $SMART" -H \'Accept: application/fhir+json\' -H \'Prefer: respond-async\' "$BASE/\\$export?_type=Patient"',
    '# health (degraded, with the reason, while the routing server is unreachable or refuses the fhir-server) and metrics (docs/observability.md)',
    'curl --cacert $CA $BASE/health',
    `curl --cacert $CA -s ${bearer} $BASE/metrics | grep -m3 '^fhirmesh_'`,
    ...(f.routingMetricsUrl ? [`curl --cacert $CA -s ${f.routingMetricsUrl} | grep -m3 '^fhirmesh_'`] : []),
  ];
  return [
    '',
    `fhirmesh is up in ${f.seconds.toFixed(1)} s: ${f.resources} resources of ${f.patients} patients, all members of Group ${f.groupId}.`,
    '',
    `  FHIR base        ${f.base}`,
    `  ExportService    ${f.exportGrpcAddress} (gRPC, TLS)`,
    `  routing server   ${f.routingAddress} (gRPC, TLS)`,
    `  CA               ${f.caFile}`,
    `  bearer token     ${f.bearerTokenFile} (Entra ID, Fhir.Read/Write/Export/Admin; renewed while npm start runs)`,
    `  operator token   ${f.operatorTokenFile} (a refresh token of the demo account for you; the fhir-server keeps its own)`,
    '',
    COMMANDS_HEADING,
    ...commands.map((line) => `  ${line}`),
    '',
    'Ctrl-C stops everything. A service that exits is started again on the same ports (npm start says so on stderr).',
    '',
  ].join('\n');
}
