import {useEffect, useState} from 'preact/hooks';

import {html} from './html.js';
import {t} from './i18n.js';
import {SetupFields, setupInput} from './setup-fields.js';
import {api} from './store.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

// Something the user does once for a family (approve a RainMaker MAC), with what was done or why not.
function OnboardingActionForm({action, onDone}) {
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
                onDone();
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

// A family's downloads (a RainMaker node's factory files): one link per item, fetched only when clicked.
function OnboardingFilesList({files}) {
    const key = `onboardingFiles.${files.family}.${files.id}`;
    const headingId = `files-${files.family}-${files.id}`;
    return html`<section aria-labelledby=${headingId}>
        <h3 id=${headingId}>${t(key)}</h3>
        <p class="hint">${t(`${key}.hint`)}</p>
        ${files.items.length === 0
            ? html`<p>${t(`${key}.none`)}</p>`
            : html`<ul>
                  ${files.items.map(
                      (item) => html`<li key=${item}>
                          <a href=${`api/files/${encodeURIComponent(files.family)}/${encodeURIComponent(files.id)}/${encodeURIComponent(item)}`} download>${t(`${key}.item`, {item})}</a>
                      </li>`,
                  )}
              </ul>`}
    </section>`;
}

// What one family needs: its DNS lines, the values to enter elsewhere, its one-off actions and downloads.
function FamilyPanel({family, options, address, format, onChanged}) {
    const [lines, setLines] = useState('');
    const [notes, setNotes] = useState([]);
    const [problem, setProblem] = useState(null);

    useEffect(() => {
        if (!IPV4.test(address)) return;
        api('GET', `dns?${new URLSearchParams({format, address, family})}`)
            .then((answer) => {
                setProblem(null);
                setLines(answer.text);
            })
            .catch((error) => setProblem(error.message));
    }, [address, family, format]);

    useEffect(() => {
        if (!IPV4.test(address)) return;
        api('GET', `notes?${new URLSearchParams({address, family})}`)
            .then(setNotes)
            .catch((error) => setProblem(error.message));
    }, [address, family]);

    return html`<div role="tabpanel" id=${`panel-${family}`} aria-labelledby=${`tab-${family}`} tabindex="0" class="tabpanel">
        ${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}
        <h2>${t('onboarding.redirects')}</h2>
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
            .filter((action) => action.family === family)
            .map((action) => html`<${OnboardingActionForm} key=${`${family}/${action.id}`} action=${action} onDone=${onChanged} />`)}
        ${options.files.filter((files) => files.family === family).map((files) => html`<${OnboardingFilesList} key=${`${family}/${files.id}`} files=${files} />`)}
    </div>`;
}

/** WAI-ARIA tabs: arrow keys, Home and End move between families (and show the one they reach). */
function FamilyTabs({families, active, onChoose}) {
    const move = (event) => {
        const index = families.indexOf(active);
        const next = {ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: families.length - 1}[event.key];
        if (next === undefined) return;
        event.preventDefault();
        const family = families[(next + families.length) % families.length];
        onChoose(family);
        document.getElementById(`tab-${family}`)?.focus();
    };
    return html`<div role="tablist" aria-label=${t('onboarding.families')} class="tabs" onKeyDown=${move}>
        ${families.map(
            (family) => html`<button type="button" role="tab" id=${`tab-${family}`} aria-selected=${family === active ? 'true' : 'false'} aria-controls=${`panel-${family}`}
                tabindex=${family === active ? 0 : -1} onClick=${() => onChoose(family)}>${t(`family.${family}`)}</button>`,
        )}
    </div>`;
}

export function OnboardingPage() {
    const [options, setOptions] = useState(null);
    const [address, setAddress] = useState('');
    const [family, setFamily] = useState(null);
    const [format, setFormat] = useState('dnsmasq');
    const [problem, setProblem] = useState(null);

    const load = () =>
        api('GET', 'onboarding')
            .then((answer) => {
                setOptions(answer);
                setAddress((current) => current || answer.address || '');
                setFamily((current) => current ?? answer.families[0] ?? null);
            })
            .catch((error) => setProblem(error.message));
    useEffect(() => void load(), []);

    if (!options) return html`<h1>${t('onboarding.title')}</h1>${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}`;
    return html`
        <h1>${t('onboarding.title')}</h1>
        <p>${t('onboarding.intro')}</p>
        <div class="filters">
            <label>${t('onboarding.address')} <input value=${address} onInput=${(event) => setAddress(event.target.value.trim())} inputmode="decimal" /></label>
            <label>
                ${t('onboarding.server')}
                <select value=${format} onChange=${(event) => setFormat(event.target.value)}>
                    ${options.formats.map((name) => html`<option value=${name}>${t(`format.${name}`)}</option>`)}
                </select>
            </label>
        </div>
        ${IPV4.test(address) ? null : html`<p class="refusal" role="alert">${t('onboarding.badAddress')}</p>`}
        ${problem ? html`<p class="refusal" role="alert">${problem}</p>` : null}
        ${family
            ? html`<${FamilyTabs} families=${options.families} active=${family} onChoose=${setFamily} />
                  <${FamilyPanel} key=${family} family=${family} options=${options} address=${address} format=${format} onChanged=${load} />`
            : null}
        ${options.caCertificate
            ? html`<p><a href="api/ca.crt" download>${t('onboarding.caCertificate')}</a>: ${t('onboarding.caCertificateWho')}</p>`
            : null}
    `;
}
