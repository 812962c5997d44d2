import {t} from './i18n.js';

const relative = () => new Intl.RelativeTimeFormat(document.documentElement.lang || 'en', {numeric: 'auto'});

/** "5 minutes ago", or "never". */
export function ago(time, now) {
    if (time === null || time === undefined) return t('time.never');
    // `now` is renewed every few seconds: a time just after it is "now", not "in 1 second".
    const seconds = Math.min(0, Math.round((time - now) / 1000));
    const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [Infinity, 'day']];
    let value = seconds;
    for (const [size, unit] of steps) {
        if (Math.abs(value) < size) return relative().format(value, unit);
        value = Math.round(value / size);
    }
    return relative().format(value, 'day');
}

/** "3 d 4 h", "5 min": how long the bridge has run. */
export function duration(ms) {
    const minutes = Math.floor(ms / 60_000);
    if (minutes < 60) return t('time.minutes', {minutes});
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return t('time.hoursMinutes', {hours, minutes: minutes % 60});
    return t('time.daysHours', {days: Math.floor(hours / 24), hours: hours % 24});
}

/** A feature's name: the main feature (name null) is called after its kind; a name fogbridge gives is a translation key. */
export function featureName(feature) {
    if (feature.name === null) return t(`kind.${feature.kind}`);
    return 'text' in feature.name ? feature.name.text : t(`entity.${feature.name.key}`);
}

/** "-52 dBm", or "–" where the family does not know the signal. */
export function signal(dbm) {
    return dbm === null || dbm === undefined ? '–' : t('signal.dbm', {dbm});
}
