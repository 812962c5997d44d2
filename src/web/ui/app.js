import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {DevicePage} from './device.js';
import {DevicesPage} from './devices.js';
import {HomePage} from './home.js';
import {html} from './html.js';
import {loadStrings, t} from './i18n.js';
import {LogsPage} from './logs.js';
import {OnboardingPage} from './onboarding.js';
import {startStore, useStore} from './store.js';

// Pages live in the URL's fragment, so every link stays relative to wherever ingress serves us.
function useRoute() {
    const read = () => location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    const [route, setRoute] = useState(read);
    useEffect(() => {
        const onChange = () => setRoute(read());
        addEventListener('hashchange', onChange);
        return () => removeEventListener('hashchange', onChange);
    }, []);
    return route;
}

const PAGES = [
    {path: '', label: 'nav.home'},
    {path: 'devices', label: 'nav.devices'},
    {path: 'onboarding', label: 'nav.onboarding'},
    {path: 'logs', label: 'nav.logs'},
];

function App() {
    const [page, id] = useRoute();
    const store = useStore();
    const current = page === 'device' ? 'devices' : page ?? '';
    useEffect(() => {
        const title = PAGES.find((entry) => entry.path === current)?.label;
        document.title = `${t(title ?? 'nav.home')} · fogbridge`;
    }, [current]);
    let content;
    if (page === 'devices') content = html`<${DevicesPage} />`;
    else if (page === 'device' && id) content = html`<${DevicePage} id=${id} />`;
    else if (page === 'logs') content = html`<${LogsPage} />`;
    else if (page === 'onboarding') content = html`<${OnboardingPage} />`;
    else content = html`<${HomePage} />`;
    return html`
        <header class="top">
            <span class="brand">fogbridge</span>
            <nav aria-label=${t('nav.label')}>
                <ul>
                    ${PAGES.map(
                        (entry) => html`<li><a href=${`#/${entry.path}`} aria-current=${entry.path === current ? 'page' : undefined}>${t(entry.label)}</a></li>`,
                    )}
                </ul>
            </nav>
            <span class=${`live ${store.connected ? 'on' : 'off'}`} role="status">${store.connected ? t('live.connected') : t('live.disconnected')}</span>
        </header>
        <main>${content}</main>
    `;
}

await loadStrings();
startStore();
render(html`<${App} />`, document.getElementById('app'));
