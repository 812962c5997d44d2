import {useEffect, useState} from 'preact/hooks';

import {html} from './html.js';
import {t} from './i18n.js';
import {SetupFields, setupInput} from './setup-fields.js';
import {api} from './store.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

// Something the user does once for a family (approve a RainMaker MAC), with what was done or why not.
function OnboardingActionForm({action}) {
    const [outcome, setOutcome] = useState(null);
    const idPrefix = `action-${action.family}-${action.id}`;
    const submit = (event) => {
        event.preventDefault();
        const form = event.target;
        setOutcome(null);
        api('POST', `actions/${encodeURIComponent(action.family)}/${encodeURIComponent(action.id)}`, setupInput(action.fields, form))
            .then((answer) => {
                form.reset();
                setOutcome({done: answer.done});
            })
            .catch((error) => setOutcome({refusal: error.message}));
    };
    return html`<section aria-labelledby=${idPrefix}>
        <h3 id=${idPrefix}>${t(`onboardingAction.${action.family}.${action.id}`)}</h3>
        <form onSubmit=${submit}>
            <${SetupFields} fields=${action.fields} idPrefix=${idPrefix} />
            <button type="submit">${t(`onboardingAction.${action.family}.${action.id}.submit`)}</button>
        </form>
        ${outcome?.refusal ? html`<p class="refusal" role="alert">${t('onboarding.actionRefused', {reason: outcome.refusal})}</p>` : null}
        ${outcome?.done ? html`<p role="status">${outcome.done}</p>` : null}
    </section>`;
}

export function OnboardingPage() {
    const [options, setOptions] = useState(null);
    const [address, setAddress] = useState('');
    const [family, setFamily] = useState('');
    const [format, setFormat] = useState('dnsmasq');
    const [lines, setLines] = useState('');
    const [notes, setNotes] = useState([]);
    const [problem, setProblem] = useState(null);

    useEffect(() => {
        api('GET', 'onboarding')
            .then((answer) => {
                setOptions(answer);
                setAddress(answer.address ?? '');
            })
            .catch((error) => setProblem(error.message));
    }, []);

    useEffect(() => {
        if (!options || !IPV4.test(address)) return;
        const query = new URLSearchParams({format, address, family});
        api('GET', `dns?${query}`)
            .then((answer) => {
                setProblem(null);
                setLines(answer.text);
            })
            .catch((error) => setProblem(error.message));
    }, [options, address, family, format]);

    useEffect(() => {
        if (!options || !IPV4.test(address)) return;
        api('GET', `notes?${new URLSearchParams({address, family})}`)
            .then(setNotes)
            .catch((error) => setProblem(error.message));
    }, [options, address, family]);

    if (!options) return html`<h1>${t('onboarding.title')}</h1>${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}`;
    return html`
        <h1>${t('onboarding.title')}</h1>
        <p>${t('onboarding.intro')}</p>
        <div class="filters">
            <label>${t('onboarding.address')} <input value=${address} onInput=${(event) => setAddress(event.target.value.trim())} inputmode="decimal" /></label>
            <label>
                ${t('column.family')}
                <select value=${family} onChange=${(event) => setFamily(event.target.value)}>
                    <option value="">${t('devices.allFamilies')}</option>
                    ${options.families.map((name) => html`<option value=${name}>${name}</option>`)}
                </select>
            </label>
            <label>
                ${t('onboarding.server')}
                <select value=${format} onChange=${(event) => setFormat(event.target.value)}>
                    ${options.formats.map((name) => html`<option value=${name}>${t(`format.${name}`)}</option>`)}
                </select>
            </label>
        </div>
        ${IPV4.test(address) ? null : html`<p class="refusal" role="alert">${t('onboarding.badAddress')}</p>`}
        ${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}
        <pre class="redirects" aria-label=${t('onboarding.lines')} tabindex="0">${lines}</pre>
        ${notes.length
            ? html`
                  <h2>${t('onboarding.notes')}</h2>
                  <dl class="facts">
                      ${notes.map(
                          (note) => html`
                              <dt>${t(note.label)}</dt>
                              <dd><code>${typeof note.value === 'boolean' ? (note.value ? t('onboarding.on') : t('onboarding.off')) : note.value}</code></dd>
                          `,
                      )}
                  </dl>
              `
            : null}
        ${options.actions
            .filter((action) => !family || action.family === family)
            .map((action) => html`<${OnboardingActionForm} key=${`${action.family}/${action.id}`} action=${action} />`)}
        ${options.caCertificate
            ? html`<p><a href="api/ca.crt" download>${t('onboarding.caCertificate')}</a>: ${t('onboarding.caCertificateWho')}</p>`
            : null}
    `;
}
