#!/usr/bin/with-contenv bashio
# Add-on entry point: options and the Supervisor's MQTT service become FOGBRIDGE_… variables;
# explicit options win over the service, as users expect.
set -euo pipefail

export FOGBRIDGE_DATA_DIR=/data
export FOGBRIDGE_LOG_LEVEL="$(bashio::config 'log_level')"

if bashio::config.has_value 'mqtt_url'; then
    export FOGBRIDGE_HA_MQTT_URL="$(bashio::config 'mqtt_url')"
elif bashio::services.available 'mqtt'; then
    scheme=mqtt
    if bashio::var.true "$(bashio::services 'mqtt' 'ssl')"; then scheme=mqtts; fi
    export FOGBRIDGE_HA_MQTT_URL="${scheme}://$(bashio::services 'mqtt' 'host'):$(bashio::services 'mqtt' 'port')"
    export FOGBRIDGE_HA_MQTT_USERNAME="$(bashio::services 'mqtt' 'username')"
    export FOGBRIDGE_HA_MQTT_PASSWORD="$(bashio::services 'mqtt' 'password')"
fi
if bashio::config.has_value 'mqtt_username'; then export FOGBRIDGE_HA_MQTT_USERNAME="$(bashio::config 'mqtt_username')"; fi
if bashio::config.has_value 'mqtt_password'; then export FOGBRIDGE_HA_MQTT_PASSWORD="$(bashio::config 'mqtt_password')"; fi
if bashio::config.has_value 'icomen_advertise_address'; then export FOGBRIDGE_ICOMEN_ADVERTISE_ADDRESS="$(bashio::config 'icomen_advertise_address')"; fi
export FOGBRIDGE_ICOMEN_COMPAT_TOPICS="$(bashio::config 'icomen_compat_topics')"
export FOGBRIDGE_MIIO_DEVICES="$(jq -c '.miio_devices // []' /data/options.json)"
export FOGBRIDGE_RAINMAKER_MQTT_HOST="$(bashio::config 'rainmaker_mqtt_host')"

exec node /app/dist/cli.js run
