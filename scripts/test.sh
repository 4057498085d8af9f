#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh machine: installs the Debian tools the end-to-end tests
# drive when they are missing, installs npm dependencies, then type-checks, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive, by the command each one provides.
declare -A PACKAGES=(
  [openstack]=python3-openstackclient
  [glance]=python3-glanceclient
  [barbican]=python3-barbicanclient
  [skopeo]=skopeo
  [gpg]=gnupg
  [docker-registry]=docker-registry
  [sfdisk]=fdisk
  [mke2fs]=e2fsprogs
  [qemu-img]=qemu-utils
  [debootstrap]=debootstrap
  [oslopolicy-checker]=python3-oslo.policy
  [openssl]=openssl
  [curl]=curl
  [psql]=postgresql-client
)
missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${PACKAGES[$command]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages the tests need: ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
  else
    echo "Not root: install them with 'sudo apt-get install ${missing[*]}' and run again." >&2
    exit 1
  fi
fi

# `npm ci` installs exactly the committed lock file. The lock lists Biome's binaries for every platform
# (npm ci checks them all, installs only this one's); a lock regenerated with node_modules present drops
# the others (npm/cli#4828) and npm ci then refuses it: regenerate it in a clean clone.
# A node_modules that links to another checkout's is left alone: npm ci would empty that one.
if [ -L node_modules ]; then
  echo "node_modules links to $(readlink node_modules): not reinstalling it" >&2
elif [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
node --version

# PostgreSQL for the storage contract tests; override to point elsewhere.
export IMAGETRUST_TEST_POSTGRES="${IMAGETRUST_TEST_POSTGRES:-postgres://root@127.0.0.1:5432/test}"

tsc --noEmit
biome check --diagnostic-level=error
node --disable-warning=ExperimentalWarning --test --test-concurrency=1 --test-reporter=spec "${@:-test/**/*.test.ts}"
