import {html} from './html.js';
import {ago, duration} from './format.js';
import {t} from './i18n.js';
import {useNow, useStore} from './store.js';

/** The edge keeps a few hundred; the newest are the ones worth reading. */
const MAX_REFUSALS_SHOWN = 30;

/** `::ffff:192.168.1.5` (an IPv4 peer on a dual-stack socket) as the device's own address. */
const plainAddress = (address) => (address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address);

// Devices refused in their TLS handshake, and why: most never become a device the bridge knows, so
// they are named by address (and by the device that had it, when one did).
function TlsRefusals({refusals, devices, now}) {
    if (refusals.length === 0) return null;
    const byAddress = new Map([...devices].filter((device) => device.facts.ip).map((device) => [device.facts.ip, device]));
    return html`<h3 id="tls-refusals">${t('home.tlsRefusals')}</h3>
        <ul class="problems" aria-labelledby="tls-refusals">
            ${refusals.slice(0, MAX_REFUSALS_SHOWN).map((refusal) => {
                const address = plainAddress(refusal.peer);
                const device = byAddress.get(address);
                return html`<li key=${`${refusal.reason}|${refusal.peer}`} data-refusal=${refusal.reason}>
                    <strong>${t(`tlsRefusal.${refusal.reason}`)}</strong>${' '}
                    ${device ? html`<a href=${`#/device/${encodeURIComponent(device.id)}`}>${device.facts.name}</a> ` : null}
                    ${t('home.tlsRefusalFrom', {peer: address, listener: refusal.listener, count: refusal.count, ago: ago(refusal.lastAt, now)})}
                    <p class="error">${refusal.detail}</p>
                </li>`;
            })}
        </ul>
        ${refusals.length > MAX_REFUSALS_SHOWN ? html`<p>${t('home.tlsRefusalsMore', {count: refusals.length - MAX_REFUSALS_SHOWN})}</p>` : null}`;
}

export function HomePage() {
    const {devices, health, tlsRefusals} = useStore();
    const now = useNow();
    const all = [...devices.values()];
    const problems = all.filter((device) => device.link.lastError);
    const families = new Map();
    for (const device of all) {
        const counts = families.get(device.family) ?? {online: 0, offline: 0};
        counts[device.link.online ? 'online' : 'offline']++;
        families.set(device.family, counts);
    }
    return html`
        <h1>${t('home.title')}</h1>
        <section aria-labelledby="problems">
            <h2 id="problems">${t('home.problems')}</h2>
            ${problems.length === 0 && tlsRefusals.length === 0 ? html`<p>${t('home.noProblems')}</p>` : null}
            ${problems.length === 0
                ? null
                : html`<ul class="problems">
                      ${problems.map(
                          (device) => html`<li>
                              <a href=${`#/device/${encodeURIComponent(device.id)}`}>${device.facts.name}</a>
                              <span class=${device.link.online ? 'badge on' : 'badge off'}>${device.link.online ? t('state.online') : t('state.offline')}</span>
                              <p class="error">${device.link.lastError}</p>
                          </li>`,
                      )}
                  </ul>`}
            <${TlsRefusals} refusals=${tlsRefusals} devices=${all} now=${now} />
        </section>
        <section aria-labelledby="families">
            <h2 id="families">${t('home.families')}</h2>
            ${families.size === 0
                ? html`<p>${t('home.noDevices')}</p>`
                : html`<table>
                      <thead><tr><th scope="col">${t('column.family')}</th><th scope="col">${t('state.online')}</th><th scope="col">${t('state.offline')}</th></tr></thead>
                      <tbody>
                          ${[...families].map(([family, counts]) => html`<tr><th scope="row">${family}</th><td>${counts.online}</td><td>${counts.offline}</td></tr>`)}
                      </tbody>
                  </table>`}
        </section>
        ${health &&
        html`<section aria-labelledby="bridge">
            <h2 id="bridge">${t('home.bridge')}</h2>
            <dl class="facts">
                <dt>${t('home.homeAssistant')}</dt>
                <dd>
                    <span class=${health.homeAssistant.connected ? 'badge on' : 'badge off'}>${health.homeAssistant.connected ? t('state.connected') : t('state.disconnected')}</span>
                    ${' '}${health.homeAssistant.broker}
                </dd>
                <dt>${t('home.queue')}</dt>
                <dd>${t('home.queueCounters', health.queue)}</dd>
                <dt>${t('home.flood')}</dt>
                <dd>${t('home.floodCounters', health.flood)}</dd>
                <dt>${t('home.hellosUnanswered')}</dt>
                <dd>${health.hellosUnanswered}</dd>
                <dt>${t('home.uptime')}</dt>
                <dd>${duration(now - health.startedAt)}</dd>
                <dt>${t('home.version')}</dt>
                <dd>${health.version}</dd>
            </dl>
        </section>`}
        <section aria-labelledby="backup">
            <h2 id="backup">${t('home.backup')}</h2>
            <p>${t('home.backupText')}</p>
            <p><a href="api/backup" download>${t('action.downloadBackup')}</a></p>
        </section>
    `;
}
