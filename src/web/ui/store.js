// Everything the pages show, kept up to date by the bridge over one WebSocket: a snapshot when it
// opens, then every change as it happens. Nothing is polled; a lost connection is re-opened.
import {useEffect, useState} from 'preact/hooks';

const MAX_LOG_LINES = 2000;
const MAX_EVENTS_PER_DEVICE = 20;
const MAX_TRAFFIC_ENTRIES = 300;

// `images`: "<device>/<feature>" → the version of its latest picture, for the <img> URL.
// `tlsRefusals`: the device TLS listeners' recent refusals, newest first, as the edge keeps them.
// `traffic`: the decoded messages of the device whose page is open, newest first.
const state = {connected: false, devices: new Map(), health: null, log: [], events: new Map(), images: new Map(), tlsRefusals: [], traffic: {deviceId: null, entries: []}};
const listeners = new Set();
let socket = null;

function changed() {
    for (const listener of listeners) listener();
}

const handlers = {
    snapshot(message) {
        state.devices = new Map(message.devices.map((device) => [device.id, device]));
        state.health = message.health;
        state.log = message.log.slice(-MAX_LOG_LINES);
        state.tlsRefusals = message.tlsRefusals;
    },
    device({device}) {
        state.devices.set(device.id, device);
    },
    state({deviceId, state: deviceState}) {
        const device = state.devices.get(deviceId);
        if (device) state.devices.set(deviceId, {...device, state: deviceState});
    },
    link({deviceId, link}) {
        const device = state.devices.get(deviceId);
        if (device) state.devices.set(deviceId, {...device, link});
    },
    removed({deviceId}) {
        state.devices.delete(deviceId);
    },
    image({deviceId, featureId, updatedAt}) {
        state.images.set(`${deviceId}/${featureId}`, updatedAt);
    },
    event(event) {
        const list = [event, ...(state.events.get(event.deviceId) ?? [])].slice(0, MAX_EVENTS_PER_DEVICE);
        state.events.set(event.deviceId, list);
    },
    log({line}) {
        state.log = state.log.length >= MAX_LOG_LINES ? [...state.log.slice(1), line] : [...state.log, line];
    },
    traffic({deviceId, entries, replace}) {
        if (deviceId !== state.traffic.deviceId) return;
        state.traffic = {deviceId, entries: [...entries, ...(replace ? [] : state.traffic.entries)].slice(0, MAX_TRAFFIC_ENTRIES)};
    },
    tick({health, links, tlsRefusals}) {
        state.health = health;
        if (tlsRefusals) state.tlsRefusals = tlsRefusals;
        for (const [deviceId, link] of Object.entries(links)) handlers.link({deviceId, link});
    },
};

function connect(delayMs = 1000) {
    const url = new URL('ws', document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => {
        delayMs = 1000;
        state.connected = true;
        sendWatch();
        changed();
    };
    socket.onmessage = (message) => {
        const data = JSON.parse(message.data);
        handlers[data.type]?.(data);
        changed();
    };
    socket.onclose = () => {
        state.connected = false;
        changed();
        setTimeout(() => connect(Math.min(delayMs * 2, 15_000)), delayMs);
    };
}

function sendWatch() {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({watch: state.traffic.deviceId}));
}

/** Asks the bridge for this device's decoded messages, and its new ones as they come (null: none). */
export function watchTraffic(deviceId) {
    if (state.traffic.deviceId === deviceId) return;
    state.traffic = {deviceId, entries: []};
    sendWatch();
    changed();
}

export function startStore() {
    connect();
}

/** Re-renders the calling component on every change. */
export function useStore() {
    const [, setVersion] = useState(0);
    useEffect(() => {
        const listener = () => setVersion((version) => version + 1);
        listeners.add(listener);
        return () => listeners.delete(listener);
    }, []);
    return state;
}

/** The current time, renewed every `intervalMs`, for "seen 2 minutes ago". */
export function useNow(intervalMs = 10_000) {
    const [now, setNow] = useState(Date.now());
    useEffect(() => {
        const timer = setInterval(() => setNow(Date.now()), intervalMs);
        return () => clearInterval(timer);
    }, [intervalMs]);
    return now;
}

/** Calls the bridge's JSON API; rejects with the bridge's reason. */
export async function api(method, path, body) {
    const options = {method, headers: {}};
    if (body !== undefined) {
        options.headers['Content-Type'] = 'application/json';
        options.body = JSON.stringify(body);
    }
    const response = await fetch(new URL(`api/${path}`, document.baseURI), options);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error ?? `${response.status} ${response.statusText}`);
    return answer;
}
