#!/usr/bin/with-contenv bashio
# shellcheck shell=bash
# Add-on entry point: the options and the Supervisor's MQTT service become FOGBRIDGE_… variables
# (explicit MQTT options win over the service, as users expect), then the bridge replaces this shell.
# The paths are variables with the add-on's real defaults, so that a test can run this very script.
set -euo pipefail

DATA_DIR="${ADDON_DATA_DIR:-/data}"
OPTIONS_FILE="${DATA_DIR}/options.json"
BRIDGE="${ADDON_BRIDGE:-/app/dist/cli.js}"

export FOGBRIDGE_DATA_DIR="${DATA_DIR}"
export FOGBRIDGE_LOG_LEVEL="$(bashio::config 'log_level')"
# Of the web UI and of the entity names in Home Assistant.
export FOGBRIDGE_LANGUAGE="$(bashio::config 'language')"

# The web UI: only Home Assistant's ingress proxy may connect; each HA device page links to its page here.
export FOGBRIDGE_WEB_HOST=0.0.0.0
export FOGBRIDGE_WEB_PORT=8099
export FOGBRIDGE_WEB_INGRESS_ONLY=true
# The ingress panel is named after the slug the Supervisor gave this add-on (its repository's prefix
# and ours, e.g. local_fogbridge), which only the Supervisor knows for sure.
slug="$(bashio::addons 'self' 'addons.self.slug' '.slug // empty' || true)"
if [[ -n "${slug}" ]]; then
    export FOGBRIDGE_WEB_EXTERNAL_URL="homeassistant://hassio/ingress/${slug}"
else
    bashio::log.warning "the Supervisor did not say this add-on's slug: Home Assistant's device pages get no link to the web UI"
fi

if bashio::config.has_value 'mqtt_url'; then
    export FOGBRIDGE_HA_MQTT_URL="$(bashio::config 'mqtt_url')"
elif bashio::services.available 'mqtt'; then
    scheme=mqtt
    if bashio::var.true "$(bashio::services 'mqtt' 'ssl')"; then scheme=mqtts; fi
    export FOGBRIDGE_HA_MQTT_URL="${scheme}://$(bashio::services 'mqtt' 'host'):$(bashio::services 'mqtt' 'port')"
    export FOGBRIDGE_HA_MQTT_USERNAME="$(bashio::services 'mqtt' 'username')"
    export FOGBRIDGE_HA_MQTT_PASSWORD="$(bashio::services 'mqtt' 'password')"
else
    bashio::log.warning "no MQTT broker: install the Mosquitto broker add-on, or set mqtt_url"
fi
if bashio::config.has_value 'mqtt_username'; then export FOGBRIDGE_HA_MQTT_USERNAME="$(bashio::config 'mqtt_username')"; fi
if bashio::config.has_value 'mqtt_password'; then export FOGBRIDGE_HA_MQTT_PASSWORD="$(bashio::config 'mqtt_password')"; fi

for family in icomen miio rainmaker ecovacs; do
    export "FOGBRIDGE_${family^^}_ENABLED=$(bashio::config "${family}_enabled")"
done
# One address for every family that sends devices an address of its own.
if bashio::config.has_value 'advertise_address'; then
    address="$(bashio::config 'advertise_address')"
    export FOGBRIDGE_ICOMEN_ADVERTISE_ADDRESS="${address}" FOGBRIDGE_MIIO_ADVERTISE_ADDRESS="${address}" FOGBRIDGE_ECOVACS_ADVERTISE_ADDRESS="${address}"
fi
export FOGBRIDGE_ICOMEN_COMPAT_TOPICS="$(bashio::config 'icomen_compat_topics')"
export FOGBRIDGE_MIIO_DEVICES="$(jq -c '.miio_devices // []' "${OPTIONS_FILE}")"
export FOGBRIDGE_RAINMAKER_MQTT_HOST="$(bashio::config 'rainmaker_host')"

# Memory per device (README "Performance"): V8's young generation would otherwise grow to 32 MB in
# a connect storm and keep it, and glibc gives every thread an arena of its own.
export MALLOC_ARENA_MAX=2
exec node --max-semi-space-size=2 "${BRIDGE}" run
