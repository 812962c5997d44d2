import {useState} from 'preact/hooks';

import {html} from './html.js';
import {t} from './i18n.js';
import {useStore} from './store.js';

const LEVELS = ['error', 'warn', 'info', 'debug'];

export function LogsPage() {
    const {log} = useStore();
    const [level, setLevel] = useState('debug');
    const [search, setSearch] = useState('');
    const limit = LEVELS.indexOf(level);
    const needle = search.trim().toLowerCase();
    const shown = log.filter((line) => LEVELS.indexOf(line.level) <= limit && (!needle || `${line.namespace} ${line.message}`.toLowerCase().includes(needle)));
    return html`
        <h1>${t('logs.title')}</h1>
        <div class="filters">
            <label>
                ${t('logs.level')}
                <select value=${level} onChange=${(event) => setLevel(event.target.value)}>
                    ${LEVELS.map((name) => html`<option value=${name}>${t(`level.${name}`)}</option>`)}
                </select>
            </label>
            <label>${t('logs.search')} <input type="search" value=${search} onInput=${(event) => setSearch(event.target.value)} /></label>
        </div>
        <p role="status">${t('logs.count', {shown: shown.length, total: log.length})}</p>
        <ol class="log" aria-label=${t('logs.title')}>
            ${shown.map(
                (line) => html`<li class=${`level-${line.level}`}>
                    <time datetime=${new Date(line.time).toISOString()}>${new Date(line.time).toLocaleTimeString()}</time>
                    <span class="level">${line.level}</span>
                    <span class="namespace">${line.namespace}</span>
                    <span class="message">${line.message}</span>
                </li>`,
            )}
        </ol>
    `;
}
