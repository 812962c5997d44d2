import {useEffect, useState} from 'preact/hooks';

import {Control} from './controls.js';
import {ago, featureName, signal} from './format.js';
import {html} from './html.js';
import {t} from './i18n.js';
import {SetupFields, setupInput} from './setup-fields.js';
import {api, useNow, useStore, watchTraffic} from './store.js';

function Feature({device, feature, events, imageVersion}) {
    const [refusal, setRefusal] = useState(null);
    const imageUrl = feature.kind === 'image' ? `api/devices/${encodeURIComponent(device.id)}/image/${encodeURIComponent(feature.id)}?v=${imageVersion ?? 0}` : null;
    const label = featureName(feature);
    const send = (command) => {
        setRefusal(null);
        api('POST', `devices/${encodeURIComponent(device.id)}/features/${encodeURIComponent(feature.id)}`, command).catch((error) => setRefusal(error.message));
    };
    const headingId = `feature-${feature.id}`;
    return html`<section class="feature" aria-labelledby=${headingId} data-feature=${feature.id}>
        <h3 id=${headingId}>${label} ${feature.name === null ? null : html`<span class="kind">${t(`kind.${feature.kind}`)}</span>`}</h3>
        <${Control} feature=${feature} value=${device.state[feature.id]} send=${send} label=${label} events=${events} imageUrl=${imageUrl} />
        ${refusal ? html`<p class="refusal" role="alert">${t('device.refused', {reason: refusal})}</p>` : null}
    </section>`;
}

// What the device waits for from the user (a miIO cloud key), asked again whenever its state or
// link changes. Typed values go to the bridge once and are never shown again.
function Setup({device}) {
    const [fields, setFields] = useState([]);
    const [outcome, setOutcome] = useState(null);
    const path = `devices/${encodeURIComponent(device.id)}/setup`;
    useEffect(() => {
        api('GET', path)
            .then((answer) => setFields(answer.fields))
            .catch(() => setFields([]));
    }, [path, device.state, device.link.online]);
    if (fields.length === 0) return null;
    const submit = (event) => {
        event.preventDefault();
        const form = event.target;
        setOutcome(null);
        api('POST', path, setupInput(fields, form))
            .then(() => {
                form.reset();
                setOutcome({taken: true});
            })
            .catch((error) => setOutcome({refusal: error.message}));
    };
    return html`<section aria-labelledby="setup" class="setup">
        <h2 id="setup">${t('setup.title')}</h2>
        <form onSubmit=${submit}>
            <${SetupFields} fields=${fields} idPrefix="setup" />
            <button type="submit">${t('action.save')}</button>
        </form>
        ${outcome?.refusal ? html`<p class="refusal" role="alert">${t('setup.refused', {reason: outcome.refusal})}</p>` : null}
        ${outcome?.taken ? html`<p role="status">${t('setup.taken')}</p>` : null}
    </section>`;
}

// What the device said and was told in the last minutes, decoded and with secrets masked by the bridge.
function Messages({traffic}) {
    return html`<section aria-labelledby="messages">
        <h2 id="messages">${t('device.messages')}</h2>
        <p class="hint">${t('device.messagesHint')}</p>
        ${traffic.entries.length === 0
            ? html`<p>${t('device.noMessages')}</p>`
            : html`<div class="scroll">
                  <table class="messages">
                      <thead>
                          <tr><th scope="col">${t('column.time')}</th><th scope="col">${t('column.direction')}</th><th scope="col">${t('column.message')}</th></tr>
                      </thead>
                      <tbody>
                          ${traffic.entries.map(
                              (entry) => html`<tr data-direction=${entry.direction}>
                                  <td><time datetime=${new Date(entry.time).toISOString()}>${new Date(entry.time).toLocaleTimeString()}</time></td>
                                  <td>${t(`direction.${entry.direction}`)}</td>
                                  <td><code>${entry.summary}</code></td>
                              </tr>`,
                          )}
                      </tbody>
                  </table>
              </div>`}
    </section>`;
}

function Rename({device}) {
    const [problem, setProblem] = useState(null);
    const submit = (event) => {
        event.preventDefault();
        const name = new FormData(event.target).get('name');
        setProblem(null);
        api('PUT', `devices/${encodeURIComponent(device.id)}/name`, {name}).catch((error) => setProblem(error.message));
    };
    return html`<form class="inline" onSubmit=${submit}>
        <label>${t('device.name')} <input name="name" value=${device.facts.name} maxlength="64" required /></label>
        <button type="submit">${t('action.rename')}</button>
        ${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}
    </form>`;
}

function Remove({device}) {
    const [asking, setAsking] = useState(false);
    const [problem, setProblem] = useState(null);
    const remove = () => {
        setProblem(null);
        api('DELETE', `devices/${encodeURIComponent(device.id)}`)
            .then(() => (location.hash = '#/devices'))
            .catch((error) => setProblem(error.message));
    };
    return html`<div class="remove">
        ${asking
            ? html`<p>${t('device.removeQuestion', {name: device.facts.name})}</p>
                  <button type="button" class="danger" onClick=${remove}>${t('action.remove')}</button>
                  <button type="button" onClick=${() => setAsking(false)}>${t('action.cancel')}</button>`
            : html`<button type="button" onClick=${() => setAsking(true)}>${t('action.removeDevice')}</button>`}
        ${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}
    </div>`;
}

export function DevicePage({id}) {
    const {devices, events, images, traffic} = useStore();
    const now = useNow();
    useEffect(() => {
        watchTraffic(id);
        return () => watchTraffic(null);
    }, [id]);
    const device = devices.get(id);
    if (!device) {
        return html`<h1>${t('device.unknown')}</h1>
            <p>${t('device.unknownText', {id})}</p>
            <p><a href="#/devices">${t('nav.devices')}</a></p>`;
    }
    const {facts, link} = device;
    const recent = events.get(id) ?? [];
    return html`
        <h1>${facts.name}</h1>
        <p>
            <span class=${link.online ? 'badge on' : 'badge off'}>${link.online ? t('state.online') : t('state.offline')}</span>
            ${' '}${t('device.lastSeen', {ago: ago(link.lastSeen, now)})}
        </p>
        ${link.lastError ? html`<p class="error" role="status">${t('device.lastError', {error: link.lastError})}</p>` : null}
        <${Setup} device=${device} />
        <section aria-labelledby="features">
            <h2 id="features">${t('device.features')}</h2>
            ${device.features.map((feature) => html`<${Feature} key=${feature.id} device=${device} feature=${feature} events=${recent} imageVersion=${images.get(`${device.id}/${feature.id}`)} />`)}
        </section>
        <section aria-labelledby="about">
            <h2 id="about">${t('device.about')}</h2>
            <dl class="facts">
                <dt>${t('column.family')}</dt><dd>${device.family}</dd>
                <dt>${t('device.id')}</dt><dd><code>${device.id}</code></dd>
                <dt>${t('device.manufacturer')}</dt><dd>${facts.manufacturer}</dd>
                <dt>${t('column.model')}</dt><dd>${facts.model}</dd>
                <dt>${t('column.firmware')}</dt><dd>${facts.firmware ?? '–'}</dd>
                <dt>${t('device.mac')}</dt><dd>${facts.mac ?? '–'}</dd>
                <dt>${t('column.ip')}</dt><dd>${facts.ip ?? '–'}</dd>
                <dt>${t('device.link')}</dt><dd>${t('device.linkCounters', link)}</dd>
                <dt>${t('column.signal')}</dt><dd>${signal(link.signalDbm)}</dd>
            </dl>
        </section>
        ${recent.length
            ? html`<section aria-labelledby="events">
                  <h2 id="events">${t('device.events')}</h2>
                  <ul>${recent.map((event) => html`<li>${new Date(event.time).toLocaleTimeString()} ${featureName(device.features.find((feature) => feature.id === event.featureId) ?? {kind: 'event', name: event.featureId})}: ${event.eventType}</li>`)}</ul>
              </section>`
            : null}
        <${Messages} traffic=${traffic} />
        <section aria-labelledby="manage">
            <h2 id="manage">${t('device.manage')}</h2>
            <${Rename} device=${device} />
            <${Remove} device=${device} />
        </section>
    `;
}
