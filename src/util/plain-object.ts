/** A JSON object (not null, not an array): the one check before reading keys of parsed input. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
