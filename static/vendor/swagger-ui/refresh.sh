#!/usr/bin/env bash
# Refresh the vendored Swagger UI (the API reference's renderer): ./static/vendor/swagger-ui/refresh.sh 5.36.0
# Fetches the npm package swagger-ui-dist, copies the two files the reference page serves and the
# licence with its NOTICE (Apache-2.0 asks for both), writes SHA256SUMS.
set -euo pipefail
version=${1:?usage: refresh.sh VERSION}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf "swagger-ui-dist-$version.tgz")
rm -f "$here"/swagger-ui-bundle-*.js "$here"/swagger-ui-*.css
cp "$work/package/swagger-ui-bundle.js" "$here/swagger-ui-bundle-$version.js"
cp "$work/package/swagger-ui.css" "$here/swagger-ui-$version.css"
cp "$work/package/LICENSE" "$work/package/NOTICE" "$here/"
(cd "$here" && sha256sum "swagger-ui-bundle-$version.js" "swagger-ui-$version.css" LICENSE NOTICE > SHA256SUMS)
echo "Swagger UI $version vendored; update SWAGGER_UI_VERSION in web/api/reference.py"
