import {html} from './html.js';
import {duration} from './format.js';
import {t} from './i18n.js';
import {useNow, useStore} from './store.js';

export function HomePage() {
    const {devices, health} = useStore();
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
            ${problems.length === 0
                ? html`<p>${t('home.noProblems')}</p>`
                : html`<ul class="problems">
                      ${problems.map(
                          (device) => html`<li>
                              <a href=${`#/device/${encodeURIComponent(device.id)}`}>${device.facts.name}</a>
                              <span class=${device.link.online ? 'badge on' : 'badge off'}>${device.link.online ? t('state.online') : t('state.offline')}</span>
                              <p class="error">${device.link.lastError}</p>
                          </li>`,
                      )}
                  </ul>`}
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
