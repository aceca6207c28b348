#!/usr/bin/env bash
# Refreshes the vendored Swagger UI served at /v1/docs (users may be offline: no CDN).
# Usage: scripts/vendor-swagger-ui.sh [version]   (needs npm and the npm registry)
set -euo pipefail
version="${1:-5.35.0}"
dest="$(cd "$(dirname "$0")/.." && pwd)/chalicelib/system/static/swagger-ui"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@${version}" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
mkdir -p "$dest"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  cp "$tmp/package/$f" "$dest/$f"
done
echo "swagger-ui-dist ${version} (npm), vendored by scripts/vendor-swagger-ui.sh" > "$dest/VERSION"
