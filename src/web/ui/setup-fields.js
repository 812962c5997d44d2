import {html} from './html.js';
import {t} from './i18n.js';

// The inputs of setup fields (a device's cloud key, a family's onboarding action), labelled
// `setup.<id>` with the hint `setup.<id>.hint`. `idPrefix` keeps ids unique when a page has several forms.
export function SetupFields({fields, idPrefix}) {
    return fields.map((field) => {
        const id = `${idPrefix}-${field.id}`;
        return html`<p class="inline">
                <label for=${id}>${t(`setup.${field.id}`)}</label>
                <input id=${id} name=${field.id} type=${field.secret ? 'password' : 'text'} autocomplete="off" spellcheck=${false}
                    maxlength=${field.maxLength} required aria-describedby=${`${id}-hint`} />
            </p>
            <p id=${`${id}-hint`} class="hint">${t(`setup.${field.id}.hint`)}</p>`;
    });
}

/** What the form's setup fields hold, keyed by field id: the body the API takes. */
export function setupInput(fields, form) {
    const data = new FormData(form);
    return Object.fromEntries(fields.map((field) => [field.id, data.get(field.id)]));
}
