#!/usr/bin/env bash
# Follows the README's Quick start in a fresh clone, typed literally: the first sh block in one
# shell (its `npm start` kept running in the background, as the README says), the second block in
# another once /ready answers. Fails on a failed command, a missing file, or any warning or error
# line in what npm, the CLI or the server print. PORT (default 8000) replaces the README's 8000.
# Usage: scripts/readme-check.sh [repository, default: this one]   (commits only: it clones HEAD)
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
port=${PORT:-8000}
work=$(mktemp -d /tmp/aquaml-readme-XXXXXX)
server=''
# npm does not pass SIGTERM on to the server it started: stop the whole process group.
stop_server() {
  if [ -n "$server" ]; then kill -TERM -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=''
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$repo" "$work/aquaml"
cd "$work/aquaml"
# The sh blocks of the Quick start section, in order, one file each.
awk -v dir="$work" '
  /^## / { inqs = ($0 == "## Quick start") }
  inqs && /^```sh$/ { n += 1; out = dir "/block" n ".sh"; inblock = 1; next }
  inblock && /^```$/ { inblock = 0; next }
  inblock { print > out }
' README.md
[ -s "$work/block1.sh" ] && [ -s "$work/block2.sh" ] || { echo "README: Quick start blocks not found"; exit 1; }
sed -i "s/localhost:8000/localhost:$port/g" "$work/block2.sh"

log="$work/output.log"
: > "$log"
echo "== terminal 1"
while IFS= read -r line; do
  echo "\$ $line"
  if [[ "$line" == *"npm start" ]]; then
    # `<setup> && npm start`: the setup in the foreground, the server in the background.
    setup=${line%npm start}
    setup=${setup%&& }
    if [ -n "${setup// /}" ]; then
      env -u ONNXRUNTIME_NODE_INSTALL bash -c "$setup" 2>&1 | tee -a "$log"
      [ "${PIPESTATUS[0]}" = 0 ] || { echo "FAILED: $setup"; exit 1; }
    fi
    setsid env -u ONNXRUNTIME_NODE_INSTALL PORT="$port" npm start > "$work/server.log" 2>&1 &
    server=$!
  else
    env -u ONNXRUNTIME_NODE_INSTALL bash -c "$line" 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "FAILED: $line"; exit 1; }
  fi
done < "$work/block1.sh"
[ -n "$server" ] || { echo "the README never starts the server"; exit 1; }
for _ in $(seq 1 600); do
  curl -sf "localhost:$port/ready" > /dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "the server exited"; exit 1; }
  sleep 0.5
done
curl -sf "localhost:$port/ready" > /dev/null || { echo "not ready after 5 minutes"; exit 1; }

echo "== terminal 2"
answer=$(bash -e "$work/block2.sh" 2>&1) || { echo "$answer"; echo "FAILED: second block"; exit 1; }
echo "$answer"
echo "$answer" | grep -q '"species":"amphiprion-clarkii"' || { echo "FAILED: unexpected answer"; exit 1; }

stop_server
cat "$work/server.log" >> "$log"
# npm's "npm warn/error", pino's warn (40) and above, and anything else that says warning or error.
if grep -nE '^npm (warn|WARN|error|ERR)|"level":(40|50|60)|[Ww]arning|EBADENGINE|Error' "$log"; then
  echo "FAILED: the lines above are warnings or errors"
  exit 1
fi
echo "README quick start: OK (no warning, no error)"
