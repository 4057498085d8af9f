#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh machine: installs the Debian tools the end-to-end tests
# drive when they are missing (qemu-img among them), checks that PostgreSQL answers (starting a stopped local
# cluster when root), installs npm dependencies, then type-checks, lints and runs every test.
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
  [oslo-config-validator]=python3-oslo.config
  [apt-cache]=apt
  [dpkg-deb]=dpkg
  [openssl]=openssl
  [curl]=curl
  [psql]=postgresql-client
  [groff]=groff-base
  [grub-mkimage]=grub-common
  [busybox]=busybox-static
  [mmdebstrap]=mmdebstrap
  [gpgv]=gpgv
  [mcopy]=mtools
  [mkfs.vfat]=dosfstools
  [debugfs]=e2fsprogs
  [qemu-system-x86_64]=qemu-system-x86
  [dnsmasq]=dnsmasq-base
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [ip]=iproute2
  [ping]=iputils-ping
  [tempest]=tempest
  [haproxy]=haproxy
  [systemd-analyze]=systemd
  [stestr]=python3-stestr
  [swift-proxy-server]=swift-proxy
  [swift-object-server]=swift-object
  [swift-container-server]=swift-container
  [swift-account-server]=swift-account
  [memcached]=memcached
  [virsh]=libvirt-clients
  [setpriv]=util-linux
)
missing=()
for command in "${!PACKAGES[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${PACKAGES[$command]}")
done
# GRUB's i386-pc images (boot.img, the modules grub-mkimage builds core.img from) have no command of their own.
[ -d /usr/lib/grub/i386-pc ] || missing+=(grub-pc-bin)
# test/faults/postgres-restart runs a private cluster with Debian's initdb and pg_ctl (no command on PATH).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The archive keyring that verifies the Debian mirror's InRelease for `imagetrust build`.
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
# test-boot --firmware uefi boots with OVMF, a firmware file rather than a command.
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || missing+=(ovmf)
# test/tempest runs OpenStack's Tempest with the Glance and Barbican plugins, and test/posture reads paste files
# against paste.deploy: Python packages without commands.
for plugin in glance_tempest_plugin:glance-tempest-plugin barbican_tempest_plugin:barbican-tempest-plugin subunit:python3-subunit paste/deploy:python3-pastedeploy; do
  [ -d "/usr/lib/python3/dist-packages/${plugin%%:*}" ] || missing+=("${plugin#*:}")
done
# test/posture downloads Debian 12's nova, glance, cinder, barbican and libvirt packages with apt-get download
# (the mirror must answer once; the .debs are cached in /var/cache/imagetrust-fixtures/posture by version).
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

# PostgreSQL for the storage contract tests; override to point elsewhere. Checked before anything runs, so
# a missing server is one clear message instead of failures deep in the suite.
export IMAGETRUST_TEST_POSTGRES="${IMAGETRUST_TEST_POSTGRES:-postgres://root@127.0.0.1:5432/test}"
postgres_error() { psql -w "$IMAGETRUST_TEST_POSTGRES" -qAt -c 'select 1' 2>&1 >/dev/null; }
if ! error=$(postgres_error); then
  # A local cluster that is installed but stopped (after a reboot, say) is started when we may.
  if [ "$(id -u)" -eq 0 ] && command -v pg_lsclusters >/dev/null \
    && [[ $IMAGETRUST_TEST_POSTGRES =~ ^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost)(:([0-9]+))?(/|$) ]]; then
    port=${BASH_REMATCH[5]:-5432}
    while read -r version cluster cluster_port status _; do
      if [ "$cluster_port" = "$port" ] && [ "$status" = down ]; then
        echo "Starting the stopped PostgreSQL cluster $version/$cluster on port $port" >&2
        pg_ctlcluster "$version" "$cluster" start
      fi
    done < <(pg_lsclusters --no-header)
    error=$(postgres_error) && error=
  fi
  if [ -n "$error" ]; then
    cat >&2 <<EOF
PostgreSQL does not answer at $IMAGETRUST_TEST_POSTGRES:
$error
The storage tests need a PostgreSQL with a superuser role 'root' and a database 'test'. On Debian 12, as root:
  apt-get install postgresql
  pg_ctlcluster 15 main start
  su postgres -c 'createuser -s root'
  createdb test
If it then wants a password, give the role one and name it in the URL
(su postgres -c "psql -c \"alter role root password 'PASSWORD'\"", then
IMAGETRUST_TEST_POSTGRES=postgres://root:PASSWORD@127.0.0.1:5432/test npm test), or point
IMAGETRUST_TEST_POSTGRES at another server.
EOF
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

tsc --noEmit
biome check --diagnostic-level=error
node --disable-warning=ExperimentalWarning --test --test-concurrency=1 --test-reporter=spec "${@:-test/**/*.test.ts}"
