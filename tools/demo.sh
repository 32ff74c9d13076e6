#!/usr/bin/env bash
# Installs what is missing, builds rollbook, and rolls the example "Find Contacts with AI" launch
# back for real against a local sandbox: PostgreSQL, Redis, a flagd file, release directories and
# an integration admin API, all on 127.0.0.1 in a temporary directory.
#
# Runs the four rollback scenarios of the example runbook: full, then (after re-launching the
# feature in the sandbox) feature flags only, external services only and database only.
# The ledger and the sandbox files stay in the printed directory; the servers stop on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"

build="$root/build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target rollbook -j"$(nproc)"
rollbook="$build/tools/rollbook"
example="$root/docs/examples/ai-search"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

demo_dir=$(mktemp -d /tmp/rollbook-demo.XXXXXX)
chmod 755 "$demo_dir"
pg_port=$(free_port)
redis_port=$(free_port)
api_port=$(free_port)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export ROLLBOOK_LEDGER="$demo_dir/ledger"
export INTEGRATION_ADMIN_TOKEN="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

cleanup() {
  [[ -n "${api_pid:-}" ]] && kill "$api_pid" 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$demo_dir/pg" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== sandbox in $demo_dir"
# PostgreSQL refuses to run as root, so the cluster belongs to the postgres user.
mkdir -p "$demo_dir/pg"
chown postgres "$demo_dir/pg"
runuser -u postgres -- "$pg_bin/initdb" -D "$demo_dir/pg" --auth=trust -U postgres >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$demo_dir/pg" -l "$demo_dir/pg/server.log" -w \
  -o "-p $pg_port -k $demo_dir/pg -c listen_addresses=127.0.0.1" start >/dev/null
psql_demo() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_demo -d postgres -c "CREATE DATABASE contacts"
psql_demo -d contacts -f "$example/sql/base.sql" >/dev/null

mkdir -p "$demo_dir/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$demo_dir/redis" --daemonize yes >/dev/null
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

python3 "$root/tools/demo/integration_api.py" --port "$api_port" --token "$INTEGRATION_ADMIN_TOKEN" &
api_pid=$!

mkdir -p "$demo_dir/flagd" "$demo_dir/secrets" "$demo_dir/releases/2024.06.1" "$demo_dir/releases/2024.07.0"
echo ok >"$demo_dir/releases/2024.06.1/HEALTH"
echo ok >"$demo_dir/releases/2024.07.0/HEALTH"

# Puts the feature back as it was right after the launch.
launch_feature() {
  psql_demo -d contacts -f "$example/sql/up.sql" >/dev/null
  cp "$example/flags.json" "$demo_dir/flagd/flags.json"
  (umask 077 && echo "aik_launch_key_$(date +%s)" >"$demo_dir/secrets/ai-provider.key")
  ln -sfn "$demo_dir/releases/2024.07.0" "$demo_dir/releases/current"
  for i in $(seq 1 300); do echo "SET ai-search:query:$i result-$i"; done | redis-cli -p "$redis_port" >/dev/null
  redis-cli -p "$redis_port" SET contacts:session:1 keep-me >/dev/null
  curl -fsS -X PUT -H "Authorization: Bearer $INTEGRATION_ADMIN_TOKEN" \
    -d '{"enabled":true}' "http://127.0.0.1:$api_port/integrations/ai-provider" >/dev/null
}
for _ in $(seq 50); do curl -fsS -o /dev/null -H "Authorization: Bearer $INTEGRATION_ADMIN_TOKEN" \
  "http://127.0.0.1:$api_port/integrations/ai-provider" 2>/dev/null && break; sleep 0.1; done
launch_feature

"$rollbook" init
set_vars=(--set "demo_dir=$demo_dir" --set "pg_port=$pg_port" --set "redis_port=$redis_port"
  --set "integration_url=http://127.0.0.1:$api_port")
# --no-monitor: the runbook's monitor: section would watch each rollback for 15 minutes; the
# demo runs the probes once, briefly, after scenario 1 instead.
start() {
  "$rollbook" start "$1" --scope "$2" --env demo --runbook "$example/rollbook.yaml" "${set_vars[@]}" \
    --no-monitor "${@:3}"
}

echo
echo "== scenario 1: full emergency rollback"
start "Critical performance issues" full
"$rollbook" status rb-1
echo
echo "== monitoring rb-1 for a few seconds (the runbook's monitor: section)"
"$rollbook" monitor rb-1 --for 3s "${set_vars[@]}"

echo
echo "== re-launching the feature in the sandbox"
launch_feature

echo
echo "== scenario 3: feature flags only"
start "User feedback issues" feature-flags
echo
echo "== scenario 4: external services only"
start "Cost overruns" external-services
echo
echo "== scenario 2: database only (safe mode)"
start "Data corruption" database --mode safe

echo
echo "== what the ledger holds"
"$rollbook" status
"$rollbook" verify
"$rollbook" info

echo
echo "== post-rollback analysis of rb-1"
"$rollbook" analyze rb-1 --type summary
"$rollbook" report rb-1 --format md --output "$demo_dir/rb-1-report.md"
"$rollbook" report rb-1 --format html --output "$demo_dir/rb-1-report.html"
echo
echo "== the 'resolved' message for the incident channel (rollbook comms rb-1)"
"$rollbook" comms rb-1 --template internal-resolved
echo "Incident reports: $demo_dir/rb-1-report.md and $demo_dir/rb-1-report.html"
echo
echo "The ledger and the sandbox files are in $demo_dir (ROLLBOOK_LEDGER=$ROLLBOOK_LEDGER)."
