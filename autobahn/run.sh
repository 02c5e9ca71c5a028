#!/usr/bin/env bash
# Runs the Autobahn testsuite (docker image crossbario/autobahn-testsuite) against this library in
# both modes: fuzzingclient against autobahn/echo-server.ts (our server), fuzzingserver against
# autobahn/client-runner.ts (our client), then summarizes the reports. Needs a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite}
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "npm run autobahn needs a running Docker engine to start $IMAGE; none is available on this machine." >&2
  echo "The wire-level conformance suite (test/conformance, part of npm test) covers the same sections without Docker." >&2
  exit 2
fi
mkdir -p autobahn/reports
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  docker rm -f rfc6455-fuzzingserver >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== our server (fuzzingclient mode)"
npx tsx autobahn/echo-server.ts 9001 & SERVER=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/9001) 2>/dev/null && break; sleep 0.2; done
docker run --rm --network host -v "$PWD/autobahn/config:/config:ro" -v "$PWD/autobahn/reports:/reports" \
  "$IMAGE" wstest -m fuzzingclient -s /config/fuzzingclient.json
kill "$SERVER"; SERVER=

echo "== our client (fuzzingserver mode)"
docker run -d --name rfc6455-fuzzingserver --network host -v "$PWD/autobahn/config:/config:ro" \
  -v "$PWD/autobahn/reports:/reports" "$IMAGE" wstest -m fuzzingserver -s /config/fuzzingserver.json >/dev/null
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/9002) 2>/dev/null && break; sleep 0.2; done
npx tsx autobahn/client-runner.ts ws://127.0.0.1:9002

npx tsx autobahn/summarize.ts autobahn/reports
