import {useState} from 'preact/hooks';

import {html} from './html.js';
import {ago, signal} from './format.js';
import {t} from './i18n.js';
import {useNow, useStore} from './store.js';

const COLUMNS = [
    {key: 'name', label: 'column.name', value: (device) => device.facts.name.toLowerCase()},
    {key: 'family', label: 'column.family', value: (device) => device.family},
    {key: 'model', label: 'column.model', value: (device) => device.facts.model},
    {key: 'online', label: 'column.online', value: (device) => (device.link.online ? 0 : 1)},
    {key: 'lastSeen', label: 'column.lastSeen', value: (device) => -(device.link.lastSeen ?? 0)},
    {key: 'ip', label: 'column.ip', value: (device) => device.facts.ip ?? ''},
    {key: 'firmware', label: 'column.firmware', value: (device) => device.facts.firmware ?? ''},
    {key: 'packets', label: 'column.packets', value: (device) => device.link.packetsIn},
    {key: 'errors', label: 'column.errors', value: (device) => device.link.badPackets + device.link.timeouts},
    // Unknown sorts as weaker than any signal.
    {key: 'signal', label: 'column.signal', value: (device) => device.link.signalDbm ?? -Infinity},
];

export function DevicesPage() {
    const {devices} = useStore();
    const now = useNow();
    const [filter, setFilter] = useState('');
    const [family, setFamily] = useState('');
    const [sort, setSort] = useState({key: 'name', descending: false});
    const families = [...new Set([...devices.values()].map((device) => device.family))].sort();
    const needle = filter.trim().toLowerCase();
    const column = COLUMNS.find((candidate) => candidate.key === sort.key);
    const shown = [...devices.values()]
        .filter((device) => !family || device.family === family)
        .filter((device) => !needle || [device.id, device.facts.name, device.facts.model, device.facts.ip ?? ''].some((text) => text.toLowerCase().includes(needle)))
        .sort((a, b) => {
            const [x, y] = [column.value(a), column.value(b)];
            const order = x < y ? -1 : x > y ? 1 : 0;
            return sort.descending ? -order : order;
        });
    const sortBy = (key) => setSort((current) => ({key, descending: current.key === key ? !current.descending : false}));
    return html`
        <h1>${t('devices.title')}</h1>
        <div class="filters">
            <label>${t('devices.filter')} <input type="search" value=${filter} onInput=${(event) => setFilter(event.target.value)} /></label>
            <label>
                ${t('column.family')}
                <select value=${family} onChange=${(event) => setFamily(event.target.value)}>
                    <option value="">${t('devices.allFamilies')}</option>
                    ${families.map((name) => html`<option value=${name}>${name}</option>`)}
                </select>
            </label>
        </div>
        <p role="status">${t('devices.count', {shown: shown.length, total: devices.size})}</p>
        <div class="scroll">
            <table class="devices">
                <caption class="visually-hidden">${t('devices.title')}</caption>
                <thead>
                    <tr>
                        ${COLUMNS.map(
                            (entry) => html`<th scope="col" aria-sort=${sort.key === entry.key ? (sort.descending ? 'descending' : 'ascending') : undefined}>
                                <button type="button" class="sort" onClick=${() => sortBy(entry.key)}>${t(entry.label)}</button>
                            </th>`,
                        )}
                    </tr>
                </thead>
                <tbody>
                    ${shown.map(
                        (device) => html`<tr data-device=${device.id}>
                            <th scope="row"><a href=${`#/device/${encodeURIComponent(device.id)}`}>${device.facts.name}</a></th>
                            <td>${device.family}</td>
                            <td>${device.facts.model}</td>
                            <td><span class=${device.link.online ? 'badge on' : 'badge off'}>${device.link.online ? t('state.online') : t('state.offline')}</span></td>
                            <td>${ago(device.link.lastSeen, now)}</td>
                            <td>${device.facts.ip ?? '–'}</td>
                            <td>${device.facts.firmware ?? '–'}</td>
                            <td>${device.link.packetsIn} / ${device.link.packetsOut}</td>
                            <td>${t('devices.errorCounters', device.link)}</td>
                            <td>${signal(device.link.signalDbm)}</td>
                        </tr>`,
                    )}
                </tbody>
            </table>
        </div>
    `;
}
