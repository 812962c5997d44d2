import type {FamilyModule} from '../../src/families/family.js';
import {ToyService} from './service.js';
import {toySettingsSchema} from './settings.js';

/** A family that lives only in this folder: proof that adding one touches nothing else. */
export const toyFamily = {
    id: 'toy',
    settings: toySettingsSchema,
    enabled: (section) => section.enabled,
    create: (context) => new ToyService(context),
} satisfies FamilyModule<'toy', typeof toySettingsSchema>;
