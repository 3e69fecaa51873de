#!/usr/bin/env bash
# Regenerates gen/ from proto/: lint, ts-proto code, the descriptor set used for
# server reflection, and a wire-compatibility check against the baseline image.
#   npm run generate              regenerate and check
#   npm run generate -- --baseline  also replace the baseline (a deliberate break)
set -euo pipefail
cd "$(dirname "$0")/.."
buf=node_modules/.bin/buf
"$buf" lint proto
"$buf" generate
# Reflection needs descriptors built by buf (imports included, no source info):
# proto-loader's re-encoded descriptors break Go reflection clients.
"$buf" build --exclude-source-info -o gen/descriptors.binpb
if [[ "${1:-}" == "--baseline" || ! -f buf.baseline.binpb ]]; then
  "$buf" build proto --exclude-source-info -o buf.baseline.binpb
  echo "baseline image written: buf.baseline.binpb"
fi
"$buf" breaking proto --against buf.baseline.binpb
echo "gen/ is up to date with proto/"
