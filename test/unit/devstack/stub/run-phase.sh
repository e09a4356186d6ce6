#!/usr/bin/env bash
# Plays stack.sh (unstack.sh, clean.sh) for one plugin phase, the way
# devstack's run_phase does: the devstack functions (here the stub) and
# variables are in scope, the plugin's settings are sourced, then plugin.sh
# with the mode and phase. The environment supplies devstack's variables.
#
#   run-phase.sh <repo> stack install
# shellcheck source-path=SCRIPTDIR
set -o errexit
set -o pipefail

repo=$1
shift
: "${OVNMETA_DIR:?the tests set OVNMETA_DIR to a scratch checkout: clean deletes its build}"
: "${STUB_LOG:?}"

# shellcheck source=functions
source "$(dirname "${BASH_SOURCE[0]}")/functions"
# shellcheck source=../../../../devstack/settings
source "$repo/devstack/settings"
_stub_record settings "ENABLED_SERVICES=$ENABLED_SERVICES" "OVN_AGENT_EXTENSIONS=$OVN_AGENT_EXTENSIONS"
# shellcheck source=../../../../devstack/plugin.sh
source "$repo/devstack/plugin.sh" "$@"
_stub_record finished "$@"
