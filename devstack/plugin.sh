#!/usr/bin/env bash
# shellcheck shell=bash
# ovnmeta devstack plugin: runs ovnmeta in place of neutron's OVN metadata
# agent (devstack/settings decides where).
#
# devstack sources this file from run_plugins (functions-common) as
#   source $DEST/ovnmeta/devstack/plugin.sh <mode> [phase]
# inside stack.sh / unstack.sh / clean.sh, with their functions and variables
# in scope (and the ones devstack/settings defines: devstack sources that
# file first). So it defines no function that devstack has, never `exit`s,
# and leaves the shell options as it found them.
#
#   stack pre-install  find a Node >= 20.18.1 early, before the long install
#   stack install      Node (see settings) + `npm ci && npm run build`
#   stack post-config  write $OVNMETA_CONF; switch neutron's and nova's
#                      metadata proxy on (devstack switched them off, as it
#                      saw neither of neutron's metadata agents enabled)
#   stack extra        run_process ovnmeta-agent (systemd unit devstack@ovnmeta-agent)
#   unstack            stop_process ovnmeta-agent; namespaces stay, as with
#                      neutron's agent, and the next start adopts them
#   clean              `ovnmeta cleanup` (removes ovnmeta-* namespaces), then
#                      the config, the build and the fetched Node
#
# devstack's own stop_ovn kills every haproxy on the host, but only when one of
# neutron's metadata agents is enabled; ovnmeta runs no haproxy, so nothing of
# ours is affected either way.

_OVNMETA_XTRACE=$(set +o | grep xtrace)
set -o xtrace

# Succeeds when the `node --version` output $1 (v20.18.1) is at least
# OVNMETA_NODE_MIN_VERSION.
function _ovnmeta_node_recent_enough {
    local version=${1#v}
    [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || return 1
    printf '%s\n%s\n' "$OVNMETA_NODE_MIN_VERSION" "${BASH_REMATCH[0]}" | sort -V -C
}

# Sets _OVNMETA_NODE_BIN to the absolute path of the node binary to use, or
# returns 1. An explicit OVNMETA_NODE is taken as given or refused (die),
# never silently replaced by another node.
function _ovnmeta_find_node {
    local candidate
    _OVNMETA_NODE_BIN=
    if [[ -n $OVNMETA_NODE ]]; then
        [[ -x $OVNMETA_NODE ]] || die $LINENO "OVNMETA_NODE=$OVNMETA_NODE is not an executable file"
        _ovnmeta_node_recent_enough "$("$OVNMETA_NODE" --version)" ||
            die $LINENO "OVNMETA_NODE=$OVNMETA_NODE is Node $("$OVNMETA_NODE" --version); ovnmeta needs >= $OVNMETA_NODE_MIN_VERSION"
        _OVNMETA_NODE_BIN=$(readlink -f "$OVNMETA_NODE")
        return 0
    fi
    for candidate in "$OVNMETA_NODE_DIR/bin/node" "$(command -v node || true)"; do
        if [[ -n $candidate && -x $candidate ]] && _ovnmeta_node_recent_enough "$("$candidate" --version)"; then
            _OVNMETA_NODE_BIN=$(readlink -f "$candidate")
            return 0
        fi
    done
    return 1
}

# npm comes from the distribution when missing. It is not in files/debs:
# on a host whose Node comes from elsewhere, the distro's npm package would
# fight that Node's own npm.
function _ovnmeta_ensure_npm {
    command -v npm >/dev/null || install_package npm
}

# Unpacks the official Node build that the npm registry ships as the package
# node-linux-<arch> into OVNMETA_NODE_DIR (no third-party apt repository).
function _ovnmeta_fetch_node {
    local arch tmp
    case $(uname -m) in
        x86_64) arch=x64 ;;
        aarch64) arch=arm64 ;;
        ppc64le) arch=ppc64le ;;
        s390x) arch=s390x ;;
        *) die $LINENO "no Node build for $(uname -m) on the npm registry; set OVNMETA_NODE to a node >= $OVNMETA_NODE_MIN_VERSION" ;;
    esac
    _ovnmeta_ensure_npm
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$OVNMETA_NODE_VERSION" >/dev/null) ||
        die $LINENO "npm pack node-linux-$arch@$OVNMETA_NODE_VERSION failed"
    rm -rf "$OVNMETA_NODE_DIR"
    mkdir -p "$OVNMETA_NODE_DIR"
    tar -xzf "$tmp/node-linux-$arch-$OVNMETA_NODE_VERSION.tgz" -C "$OVNMETA_NODE_DIR" --strip-components=1 ||
        die $LINENO "unpacking node-linux-$arch-$OVNMETA_NODE_VERSION.tgz into $OVNMETA_NODE_DIR failed"
    rm -rf "$tmp"
}

_OVNMETA_NO_NODE="ovnmeta needs Node >= $OVNMETA_NODE_MIN_VERSION: set OVNMETA_NODE to its binary, or OVNMETA_NODE_FROM_NPM=True"

# Sets _OVNMETA_NODE_BIN, fetching a Node when none is found and that is
# allowed; dies with the ways out otherwise.
function _ovnmeta_ensure_node {
    _ovnmeta_find_node && return 0
    [[ $OVNMETA_NODE_FROM_NPM == True ]] || die $LINENO "$_OVNMETA_NO_NODE"
    _ovnmeta_fetch_node
    _ovnmeta_find_node || die $LINENO "the Node unpacked into $OVNMETA_NODE_DIR does not run"
}

function install_ovnmeta {
    _ovnmeta_ensure_node
    _ovnmeta_ensure_npm
    # npm's and the build's `#!/usr/bin/env node` must find this node first.
    (
        export PATH="${_OVNMETA_NODE_BIN%/*}:$PATH"
        cd "$OVNMETA_DIR" && npm ci --no-audit --no-fund && npm run build
    ) || die $LINENO "building ovnmeta in $OVNMETA_DIR failed"
}

function configure_ovnmeta {
    local secret xtrace
    # Written from scratch on every stack (no option survives from an older
    # run), mode 0600 before anything is in it: it will hold the secret.
    sudo install -d -o "$STACK_USER" "$(dirname "$OVNMETA_CONF")"
    rm -f "$OVNMETA_CONF"
    install -m 0600 /dev/null "$OVNMETA_CONF"
    iniset "$OVNMETA_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$OVNMETA_CONF" DEFAULT state_path "$DATA_DIR/neutron"
    iniset "$OVNMETA_CONF" DEFAULT nova_metadata_host "$OVN_META_DATA_HOST"
    iniset "$OVNMETA_CONF" DEFAULT nova_metadata_port "$OVNMETA_NOVA_METADATA_PORT"
    # The local OVS db over its unix socket: the agent runs as root, and this
    # needs no ptcp manager on the host.
    iniset "$OVNMETA_CONF" ovs ovsdb_connection "unix:${OVS_RUNDIR:-/var/run/openvswitch}/db.sock"
    # Without it the agent uses ovn-controller's own external_ids:ovn-remote.
    if [[ -n ${OVN_SB_REMOTE:-} ]]; then
        iniset "$OVNMETA_CONF" ovn ovn_sb_connection "$OVN_SB_REMOTE"
    fi
    if is_service_enabled tls-proxy; then
        iniset "$OVNMETA_CONF" ovn ovn_sb_ca_cert "$INT_CA_DIR/ca-chain.pem"
        iniset "$OVNMETA_CONF" ovn ovn_sb_certificate "$INT_CA_DIR/$DEVSTACK_CERT_NAME.crt"
        iniset "$OVNMETA_CONF" ovn ovn_sb_private_key "$INT_CA_DIR/private/$DEVSTACK_CERT_NAME.key"
    fi
    iniset "$OVNMETA_CONF" ovnmeta metrics_bind "$OVNMETA_METRICS_BIND"

    # devstack wrote ovn_metadata_enabled = False into the ML2 file (the one
    # neutron-server reads last, so neutron.conf cannot override it): without
    # True, neutron creates no metadata ports and nothing is served.
    if is_service_enabled q-svc neutron-api; then
        iniset "/$Q_PLUGIN_CONF_FILE" ovn ovn_metadata_enabled True
    fi
    # q-ovn-agent kept for other extensions: devstack wrote its ini with
    # metadata in the list; stack.sh starts it after post-config.
    if is_service_enabled q-ovn-agent neutron-ovn-agent && [[ -f $OVN_AGENT_CONF ]]; then
        iniset "$OVN_AGENT_CONF" agent extensions "$(_ovnmeta_without_metadata "$(iniget "$OVN_AGENT_CONF" agent extensions)")"
    fi

    # The shared secret: METADATA_PROXY_SHARED_SECRET when set (then nova
    # gets it too; every node of a multi-node cloud needs the same one), else
    # whatever nova already has. It never reaches devstack's xtrace log.
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    secret=${METADATA_PROXY_SHARED_SECRET:-}
    if [[ -z $secret && -f $NOVA_CONF ]]; then
        secret=$(iniget "$NOVA_CONF" neutron metadata_proxy_shared_secret)
    fi
    if [[ -n $secret ]]; then
        iniset "$OVNMETA_CONF" DEFAULT metadata_proxy_shared_secret "$secret"
    fi
    if is_service_enabled n-api-meta; then
        # stack.sh edits nova.conf in the background (configure_neutron_nova,
        # collected after post-config): wait, or one of the edits is lost.
        if declare -F async_wait >/dev/null; then
            async_wait configure_neutron_nova
        fi
        iniset "$NOVA_CONF" neutron service_metadata_proxy True
        if [[ -n ${METADATA_PROXY_SHARED_SECRET:-} ]]; then
            iniset "$NOVA_CONF" neutron metadata_proxy_shared_secret "$secret"
        fi
    fi
    $xtrace
}

# Runs as root: the agent creates namespaces and veths and binds port 80
# inside them (etc/systemd/ovnmeta-agent.service lists the capabilities).
function start_ovnmeta {
    _ovnmeta_find_node || die $LINENO "$_OVNMETA_NO_NODE"
    run_process "$OVNMETA_SERVICE" \
        "$_OVNMETA_NODE_BIN $OVNMETA_NODE_FLAGS $OVNMETA_DIR/bin/ovnmeta.js agent --config-file $OVNMETA_CONF" "" root
}

function stop_ovnmeta {
    stop_process "$OVNMETA_SERVICE"
}

function cleanup_ovnmeta {
    if [[ -f $OVNMETA_CONF && -f $OVNMETA_DIR/dist/cli/main.js ]] && _ovnmeta_find_node; then
        sudo "$_OVNMETA_NODE_BIN" "$OVNMETA_DIR/bin/ovnmeta.js" cleanup --config-file "$OVNMETA_CONF" ||
            warn $LINENO "ovnmeta cleanup failed; ovnmeta-* namespaces may remain"
    fi
    rm -f "$OVNMETA_CONF"
    rm -rf "$OVNMETA_DIR/dist" "$OVNMETA_DIR/node_modules" "$OVNMETA_NODE_DIR"
}

if is_service_enabled "$OVNMETA_SERVICE"; then
    case "$1/${2:-}" in
        stack/pre-install)
            _ovnmeta_find_node || [[ $OVNMETA_NODE_FROM_NPM == True ]] || die $LINENO "$_OVNMETA_NO_NODE"
            ;;
        stack/install)
            echo_summary "Installing ovnmeta"
            install_ovnmeta
            ;;
        stack/post-config)
            echo_summary "Configuring ovnmeta"
            configure_ovnmeta
            ;;
        stack/extra)
            echo_summary "Starting ovnmeta"
            start_ovnmeta
            ;;
        unstack/*)
            stop_ovnmeta
            ;;
        clean/*)
            cleanup_ovnmeta
            ;;
    esac
fi

$_OVNMETA_XTRACE
