#!/usr/bin/env bash
# Builds the ovnmeta container image, localhost/ovnmeta:<package.json
# version> and :latest, from what this kind of machine can reach: Debian's
# packages and the npm registry (no base image is pulled).
#
#   1. root file system: mmdebstrap of Debian with what the agent and
#      `ovnmeta verify` run: iproute2, ethtool, curl, ovn-common (ovn-trace),
#      openvswitch-common (ovs-ofctl), and libstdc++6 (Node's). Cached as a tar keyed by the
#      suite, mirrors and package list, imported once as
#      localhost/ovnmeta-rootfs:<key>.
#   2. Node: bin/node of the npm registry package node-linux-<arch>.
#   3. ovnmeta: `npm pack` of this checkout (dist/ and the production
#      dependencies, bundled: package.json bundleDependencies), unpacked.
#
# The image's label ovnmeta.inputs is a hash of the three; when the image
# on hand has the same one, nothing is built. Runs as root.
#   OVNMETA_IMAGE_CACHE  where the rootfs tar and Node package are kept
#                        (default /var/cache/ovnmeta-image)
#   OVNMETA_NODE_VERSION node-linux-<arch> version (default below)
#   OVNMETA_IMAGE_SUITE, OVNMETA_IMAGE_MIRROR  Debian suite and mirror
#                        (default: this host's codename, deb.debian.org)
# Prints the image reference on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${OVNMETA_IMAGE_CACHE:-/var/cache/ovnmeta-image}
node_version=${OVNMETA_NODE_VERSION:-20.20.2}
# shellcheck disable=SC1091
suite=${OVNMETA_IMAGE_SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
mirror=${OVNMETA_IMAGE_MIRROR:-http://deb.debian.org}
packages=(iproute2 ethtool curl ovn-common openvswitch-common libstdc++6)
case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  ppc64le) node_arch=ppc64le ;;
  s390x) node_arch=s390x ;;
  *) echo "image.sh: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
version=$(node -p 'require("./package.json").version')
image=localhost/ovnmeta
podman=(podman --runtime runc --cgroup-manager cgroupfs)

for tool in podman mmdebstrap npm; do
  command -v "$tool" >/dev/null || { echo "image.sh: $tool is missing (bash scripts/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$cache"
# One build at a time on a host (the cache and the tags are shared).
exec 9>"$cache/.lock"
flock 9

t0=$(date +%s)
mirrors=(
  "deb $mirror/debian $suite main"
  "deb $mirror/debian $suite-updates main"
  "deb $mirror/debian-security $suite-security main"
)
# Changing how the rootfs is made: bump the r<N> so the key changes.
rootfs_key=$(printf '%s\n' r1 "$suite" "${mirrors[@]}" "${packages[@]}" | sha256sum | cut -c1-16)
rootfs_tar=$cache/rootfs-$rootfs_key.tar
if [ ! -s "$rootfs_tar" ]; then
  echo "image.sh: building the root file system ($suite: ${packages[*]})"
  # shellcheck disable=SC2016 # the hooks' $1 is mmdebstrap's (the root).
  # --variant=essential: Essential:yes packages, the listed ones and their
  # dependencies; no apt, no docs, man pages or locales.
  mmdebstrap --mode=root --variant=essential --format=tar \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='mkdir -p "$1/run/netns" "$1/var/lib/neutron" "$1/etc/neutron" "$1/var/run/openvswitch"' \
    --customize-hook='rm -rf "$1/var/cache/debconf/"*-old "$1/var/log/"*' \
    "$suite" "$rootfs_tar.tmp" "${mirrors[@]}"
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  # Root file systems of other package lists are not needed any more.
  find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$rootfs_key.tar" -delete
fi
t_rootfs=$(date +%s)

node_tgz=$cache/node-linux-$node_arch-$node_version.tgz
if [ ! -s "$node_tgz" ]; then
  (cd "$cache" && npm pack --silent "node-linux-$node_arch@$node_version" >/dev/null)
fi

# ovnmeta itself: its build (dist/, made by `npm run build` unless
# OVNMETA_IMAGE_NO_BUILD=1, as in the test suite, which has just built it)
# and the files `npm pack` takes, hashed without packing (packing takes
# seconds: the bundled dependencies are compressed).
[ "${OVNMETA_IMAGE_NO_BUILD:-0}" = 1 ] || npm run --silent build
app_sum=$(find bin dist etc devstack package.json package-lock.json README.md scripts/image.sh -type f -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
inputs=$(printf '%s\n' "$rootfs_key" "$node_version" "$node_arch" "$app_sum" | sha256sum | cut -c1-16)

current=$("${podman[@]}" image inspect "$image:$version" --format '{{ index .Labels "ovnmeta.inputs" }}' 2>/dev/null || true)
if [ "$current" = "$inputs" ] && "${podman[@]}" image exists "$image:latest"; then
  echo "image.sh: $image:$version is up to date (inputs $inputs), $(($(date +%s) - t0)) s"
  echo "$image:$version"
  exit 0
fi

base=localhost/ovnmeta-rootfs:$rootfs_key
if ! "${podman[@]}" image exists "$base"; then
  "${podman[@]}" import --quiet "$rootfs_tar" "$base" >/dev/null
fi
for old in $("${podman[@]}" images --format '{{.Repository}}:{{.Tag}}' localhost/ovnmeta-rootfs); do
  [ "$old" = "$base" ] || "${podman[@]}" untag "$old" >/dev/null 2>&1 || true
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same tarball docs/deploy.md installs: dist/ and the production
# dependencies (package.json bundleDependencies).
npm pack --silent --pack-destination "$work" >/dev/null
app_tgz=$(echo "$work"/ovnmeta-*.tgz)
ctx=$work/context
mkdir -p "$ctx/node" "$ctx/app"
tar -xzf "$node_tgz" -C "$ctx/node" --strip-components=1 package/bin/node
tar -xzf "$app_tgz" -C "$ctx/app" --strip-components=1
mkdir -p "$ctx/bin"
# The entrypoint. With no arguments and KOLLA_CONFIG_STRATEGY set (kolla-ansible
# and EDPM start containers so), it does kolla_start's job: copies
# config.json's files and runs its command (etc/kolla/kolla-start.mjs).
cat >"$ctx/bin/ovnmeta" <<'EOF'
#!/bin/sh
if [ $# -eq 0 ] && [ -n "${KOLLA_CONFIG_STRATEGY:-}" ]; then
  exec /usr/local/bin/kolla_start
fi
exec /usr/local/bin/node /usr/local/lib/ovnmeta/bin/ovnmeta.js "$@"
EOF
cat >"$ctx/bin/kolla_start" <<'EOF'
#!/bin/sh
cmd=$(/usr/local/bin/node /usr/local/lib/ovnmeta/etc/kolla/kolla-start.mjs) || exit $?
exec /bin/sh -c "exec $cmd"
EOF
# neutron's command name, for the tools whose command line names it (kolla's
# and EDPM's config.json, openstack-helm's start script): same arguments.
cat >"$ctx/bin/neutron-ovn-metadata-agent" <<'EOF'
#!/bin/sh
exec /usr/local/bin/ovnmeta agent "$@"
EOF
chmod 755 "$ctx"/bin/*
cat >"$ctx/Containerfile" <<EOF
FROM $base
COPY node/bin/node /usr/local/bin/node
COPY bin/ /usr/local/bin/
COPY app /usr/local/lib/ovnmeta
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title=ovnmeta org.opencontainers.image.version=$version ovnmeta.inputs=$inputs
ENTRYPOINT ["/usr/local/bin/ovnmeta"]
EOF
"${podman[@]}" build --quiet --layers -t "$image:$version" -t "$image:latest" "$ctx" >/dev/null
# The image this one replaced, now untagged (ours only: by its label).
"${podman[@]}" image prune --force --filter label=ovnmeta.inputs >/dev/null || true
t1=$(date +%s)
size=$("${podman[@]}" image inspect "$image:$version" --format '{{.Size}}')
echo "image.sh: built $image:$version (inputs $inputs): $((size / 1000000)) MB, rootfs $((t_rootfs - t0)) s, total $((t1 - t0)) s"
echo "$image:$version"
