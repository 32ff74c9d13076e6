#!/usr/bin/env bash
# Installs the Debian 12 packages rollbook needs to build, test and run its demo.
# Idempotent: it asks apt only for packages that are not installed yet.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  librocksdb-dev capnproto libcapnp-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libyaml-cpp-dev
  nlohmann-json3-dev libpq-dev libhiredis-dev libcurl4-openssl-dev
  libboost-dev libboost-system-dev libkainjow-mustache-dev
  postgresql postgresql-client redis-server curl python3 util-linux procps
  nginx wrk sqlite3 libsqlite3-dev hyperfine
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  echo "install-deps: not root and sudo is missing; install these packages yourself: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}"

# The Debian postgresql package starts a cluster on port 5432; rollbook's tests start their own
# clusters on free ports and never use it, so it may stay as it is.
