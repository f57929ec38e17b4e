#!/usr/bin/env bash
# Refresh the vendored htmx: ./static/vendor/refresh.sh 4.0.1
# Fetches the npm package, copies the two files we serve, writes SHA256SUMS.
set -euo pipefail
version=${1:?usage: refresh.sh VERSION}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$version" >/dev/null && tar xzf "htmx.org-$version.tgz")
rm -f "$here"/htmx-*.min.js "$here"/hx-sse-*.min.js
cp "$work/package/dist/htmx.min.js" "$here/htmx-$version.min.js"
cp "$work/package/dist/ext/hx-sse.min.js" "$here/hx-sse-$version.min.js"
cp "$work/package/LICENSE" "$here/LICENSE"
(cd "$here" && sha256sum "htmx-$version.min.js" "hx-sse-$version.min.js" LICENSE > SHA256SUMS)
echo "htmx $version vendored; update HTMX_VERSION in web/settings.py"
