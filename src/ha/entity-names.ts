import type {FeatureName} from '../core/device.js';
import {createLogger} from '../util/logger.js';

const log = createLogger('ha:names');

/**
 * The words Home Assistant shows for what fogbridge publishes, in the configured language: the
 * families give translation keys, this turns them into `translations/<language>.json`'s text.
 */
export class EntityNames {
    private readonly warned = new Set<string>();

    constructor(private readonly strings: Readonly<Record<string, string>>) {}

    /** A feature's entity name; the main feature's null (HA then uses the device's name) stays null. */
    of(name: FeatureName | null): string | null {
        if (name === null) return null;
        return 'text' in name ? name.text : this.entity(name.key);
    }

    /** `entity.<key>`: an entity name fogbridge gives, the bridge's own entities' too. */
    entity(key: string): string {
        return this.text(`entity.${key}`);
    }

    /** Any string of the language file. A key it lacks (the translations test catches that) shows as itself. */
    text(key: string): string {
        const text = this.strings[key];
        if (text !== undefined) return text;
        if (!this.warned.has(key)) {
            this.warned.add(key);
            log.warn(`no translation for "${key}": Home Assistant shows the key itself`);
        }
        return key;
    }
}
