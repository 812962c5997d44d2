// UI strings of the language the bridge is set to (the top-level `language` setting), served as translations.json.
let strings = {};

export async function loadStrings() {
    const response = await fetch(new URL('translations.json', document.baseURI));
    strings = await response.json();
}

/** `t('devices.count', {count: 3})`: `{count}` in the string is replaced; a missing key shows as itself. */
export function t(key, values = {}) {
    const text = strings[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
