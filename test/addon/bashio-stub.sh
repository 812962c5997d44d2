#!/usr/bin/env bash
# A stand-in for bashio with the functions addon/run.sh uses: options from /data/options.json (as
# the Supervisor writes it, in $ADDON_DATA_DIR as run.sh reads it), services from $FAKE_SUPERVISOR_SERVICES (what
# GET http://supervisor/services/<name> answers under "data"), the add-on's own info from
# $FAKE_SUPERVISOR_ADDON_INFO (GET http://supervisor/addons/self/info under "data"; absent: the call fails).
# Runs the script given, as bashio does.
set -euo pipefail

bashio::config() { jq -r --arg key "$1" '.[$key] | if type == "string" then . else tojson end' "${ADDON_DATA_DIR:-/data}/options.json"; }
bashio::config.has_value() { jq -e --arg key "$1" '.[$key] != null and .[$key] != ""' "${ADDON_DATA_DIR:-/data}/options.json" > /dev/null; }
bashio::services.available() { [[ -f "${FAKE_SUPERVISOR_SERVICES:-}" ]] && jq -e --arg name "$1" 'has($name)' "${FAKE_SUPERVISOR_SERVICES}" > /dev/null; }
bashio::services() { jq -r --arg name "$1" --arg key "$2" '.[$name][$key] | tostring' "${FAKE_SUPERVISOR_SERVICES}"; }
bashio::addons() { [[ "$1" == self && -f "${FAKE_SUPERVISOR_ADDON_INFO:-}" ]] && jq -r "$3" "${FAKE_SUPERVISOR_ADDON_INFO}"; }
bashio::var.true() { [[ "$1" == "true" ]]; }
bashio::log.warning() { echo "[warning] $*" >&2; }

script="$1"
shift
# shellcheck source=/dev/null
source "${script}" "$@"
