// One control per feature kind. Each sends a command in the core's shape; what the device then
// reports comes back over the WebSocket, so a control always shows the device's state, never a guess.
import {useEffect, useState} from 'preact/hooks';

import {html} from './html.js';
import {t} from './i18n.js';

const VACUUM_ACTIONS = ['start', 'stop', 'pause', 'return_to_base', 'locate', 'clean_spot'];

function OnOff({label, on, send, extra = {}}) {
    return html`<button type="button" role="switch" aria-checked=${on ? 'true' : 'false'} aria-label=${label} class="switch" onClick=${() => send({...extra, on: !on})}>
        ${on ? t('state.on') : t('state.off')}
    </button>`;
}

function Range({label, min, max, step = 1, value, onSet}) {
    return html`<label class="range">
        ${label}
        <input type="range" min=${min} max=${max} step=${step} value=${value ?? min} onChange=${(event) => onSet(Number(event.target.value))} />
        <output>${value ?? '–'}</output>
    </label>`;
}

function Choice({label, options, value, onSet}) {
    return html`<label>
        ${label}
        <select value=${value ?? ''} onChange=${(event) => onSet(event.target.value)}>
            ${value === null || value === undefined ? html`<option value="" disabled>–</option>` : null}
            ${options.map((option) => html`<option value=${option}>${option}</option>`)}
        </select>
    </label>`;
}

function NumberInput({feature, value, send, label}) {
    const submit = (event) => {
        event.preventDefault();
        send({kind: 'number', value: Number(new FormData(event.target).get('value'))});
    };
    return html`<form class="inline" onSubmit=${submit}>
        <label>${label} <input name="value" type="number" min=${feature.min} max=${feature.max} step=${feature.step ?? 'any'} value=${value ?? ''} required /></label>
        ${feature.unit ? html`<span>${feature.unit}</span>` : null}
        <button type="submit">${t('action.set')}</button>
    </form>`;
}

// The vacuum's rooms: tick some and clean them, or give one a name (the robot only knows ids).
function Rooms({segments, send}) {
    const [chosen, setChosen] = useState([]);
    const ids = Object.keys(segments);
    if (ids.length === 0) return null;
    const toggle = (id) => setChosen(chosen.includes(id) ? chosen.filter((other) => other !== id) : [...chosen, id]);
    const rename = (event, id) => {
        event.preventDefault();
        const name = String(new FormData(event.target).get('name') ?? '').trim();
        if (name && name !== segments[id]) send({kind: 'vacuum', action: 'rename_segment', segment: id, name});
    };
    return html`<fieldset class="rooms">
        <legend>${t('control.rooms')}</legend>
        <ul>
            ${ids.map(
                (id) => html`<li key=${id}>
                    <label><input type="checkbox" checked=${chosen.includes(id)} onChange=${() => toggle(id)} /> ${segments[id]}</label>
                    <form class="inline" onSubmit=${(event) => rename(event, id)}>
                        <input name="name" aria-label=${t('room.name', {room: segments[id]})} value=${segments[id]} maxlength="64" required />
                        <button type="submit">${t('room.rename')}</button>
                    </form>
                </li>`,
            )}
        </ul>
        <button type="button" disabled=${chosen.length === 0} onClick=${() => send({kind: 'vacuum', action: 'clean_segments', segments: chosen.filter((id) => id in segments)})}>
            ${t('vacuum.clean_segments')}
        </button>
    </fieldset>`;
}

/** A picture the bridge renders (a vacuum's map); a new version arrives as a new URL. */
function Picture({label, imageUrl}) {
    const [missing, setMissing] = useState(false);
    useEffect(() => setMissing(false), [imageUrl]);
    return missing ? html`<p class="value">${t('image.none')}</p>` : html`<img class="picture" src=${imageUrl} alt=${label} onError=${() => setMissing(true)} />`;
}

export function Control({feature, value, send, label, events, imageUrl}) {
    switch (feature.kind) {
        case 'switch':
            return html`<${OnOff} label=${label} on=${value === true} send=${({on}) => send({kind: 'switch', on})} />`;
        case 'light': {
            const light = value ?? {on: false};
            const dimmable = feature.colorModes.some((mode) => mode !== 'onoff');
            const change = (patch) => send({kind: 'light', on: true, ...patch});
            return html`<div class="controls">
                <${OnOff} label=${label} on=${light.on} send=${({on}) => send({kind: 'light', on})} />
                ${dimmable ? html`<${Range} label=${t('control.brightness')} min="0" max="255" value=${light.brightness} onSet=${(brightness) => change({brightness})} />` : null}
                ${feature.colorModes.includes('color_temp')
                    ? html`<${Range} label=${t('control.colorTemp')} min=${feature.minKelvin ?? 2000} max=${feature.maxKelvin ?? 6500} step="50" value=${light.colorTempKelvin} onSet=${(colorTempKelvin) => change({colorTempKelvin})} />`
                    : null}
                ${feature.colorModes.includes('hs')
                    ? html`<${Range} label=${t('control.hue')} min="0" max="360" value=${light.hs?.h} onSet=${(h) => change({hs: {h, s: light.hs?.s ?? 100}})} />
                          <${Range} label=${t('control.saturation')} min="0" max="100" value=${light.hs?.s} onSet=${(s) => change({hs: {h: light.hs?.h ?? 0, s}})} />`
                    : null}
            </div>`;
        }
        case 'fan': {
            const fan = value ?? {on: false};
            return html`<div class="controls">
                <${OnOff} label=${label} on=${fan.on} send=${({on}) => send({kind: 'fan', on})} />
                <${Range} label=${t('control.speed')} min="0" max="100" value=${fan.percentage} onSet=${(percentage) => send({kind: 'fan', percentage})} />
                ${feature.presetModes?.length ? html`<${Choice} label=${t('control.preset')} options=${feature.presetModes} value=${fan.presetMode} onSet=${(presetMode) => send({kind: 'fan', presetMode})} />` : null}
            </div>`;
        }
        case 'vacuum': {
            const vacuum = value ?? {activity: null};
            return html`<div class="controls">
                <p>${t('control.activity')}: <strong>${vacuum.activity ? t(`activity.${vacuum.activity}`) : '–'}</strong></p>
                <div class="buttons">
                    ${VACUUM_ACTIONS.filter((action) => feature.commands.includes(action)).map(
                        (action) => html`<button type="button" onClick=${() => send({kind: 'vacuum', action})}>${t(`vacuum.${action}`)}</button>`,
                    )}
                </div>
                ${feature.fanSpeeds?.length
                    ? html`<${Choice} label=${t('control.fanSpeed')} options=${feature.fanSpeeds} value=${vacuum.fanSpeed} onSet=${(fanSpeed) => send({kind: 'vacuum', action: 'set_fan_speed', fanSpeed})} />`
                    : null}
                ${feature.segments && vacuum.segments ? html`<${Rooms} segments=${vacuum.segments} send=${send} />` : null}
            </div>`;
        }
        case 'select':
            return html`<${Choice} label=${label} options=${feature.options} value=${value} onSet=${(option) => send({kind: 'select', option})} />`;
        case 'number':
            return html`<${NumberInput} feature=${feature} value=${value} send=${send} label=${label} />`;
        case 'button':
            return html`<button type="button" onClick=${() => send({kind: 'button', action: 'press'})}>${t('action.press')}</button>`;
        case 'update': {
            const update = value ?? {installedVersion: null, latestVersion: null};
            const newer = update.latestVersion && update.latestVersion !== update.installedVersion;
            return html`<div class="controls">
                <p>${t('update.versions', {installed: update.installedVersion ?? '–', latest: update.latestVersion ?? '–'})}</p>
                ${update.inProgress ? html`<p>${t('update.progress', {progress: update.progress ?? 0})}</p>` : null}
                ${feature.installable && newer && !update.inProgress ? html`<button type="button" onClick=${() => send({kind: 'update', action: 'install'})}>${t('action.install')}</button>` : null}
            </div>`;
        }
        case 'binary_sensor':
            return html`<p class="value">${value === null || value === undefined ? '–' : value ? t('state.on') : t('state.off')}</p>`;
        case 'image':
            return html`<${Picture} feature=${feature} label=${label} imageUrl=${imageUrl} />`;
        case 'event': {
            const last = events.find((event) => event.featureId === feature.id);
            return html`<p class="value">${last ? last.eventType : '–'}</p>`;
        }
        default:
            return html`<p class="value">${value === null || value === undefined ? '–' : String(value)}${feature.unit ? ` ${feature.unit}` : ''}</p>`;
    }
}
