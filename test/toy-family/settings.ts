import {z} from 'zod';

import {nullablePort} from '../../src/config/schema.js';

/** The `toy` settings section. */
export const toySettingsSchema = z
    .strictObject({
        enabled: z.boolean().default(true),
        /** Devices log in with these (any client id `toy-<serial>`). */
        username: z.string().min(1).default('toy'),
        password: z.string().min(1).default('toy-secret'),
        /** A plain HTTP port for the edge's router; null: none. */
        httpPort: nullablePort.default(null),
    })
    .prefault({});

export type ToySettings = z.infer<typeof toySettingsSchema>;
