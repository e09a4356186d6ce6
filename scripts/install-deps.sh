#!/usr/bin/env bash
# Installs what ovnmeta's tests and demo need on a Debian machine, only when
# it is missing: OVS/OVN daemons, iproute2, ethtool, curl, iptables, then the
# npm dependencies. Safe to run again. The e2e ring driven by neutron-server
# also needs Debian's neutron-server (ML2/OVN), MariaDB (neutron 21's
# migrations fail on SQLite), PyMySQL and cloud-init (its OpenStack reader
# crawls the metadata tree); the tests run their own MariaDB and
# neutron-server, so no package may start its service: a policy-rc.d that
# denies every start (as container images ship) is in place while apt runs,
# unless one is there already. Their debconf questions take the defaults
# under DEBIAN_FRONTEND=noninteractive (no database set up, no keystone).
# The container image (scripts/image.sh) and its e2e test need podman, runc
# (crun refuses this kind of machine's cgroup setup) and mmdebstrap (the
# image's root file system is made from Debian packages: no base image can
# be pulled).
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(openvswitch-switch ovn-central ovn-host iproute2 ethtool curl iptables openssl shellcheck systemd neutron-ovn-metadata-agent haproxy
  neutron-server mariadb-server python3-pymysql cloud-init podman runc mmdebstrap)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# `npm install`, not `npm ci`: it installs the versions package-lock.json
# pins all the same, but tolerates optional platform packages the registry
# cannot serve (rollup's for other platforms are missing from the registry
# we reach, so they are absent from the lock and `npm ci` refuses it).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
