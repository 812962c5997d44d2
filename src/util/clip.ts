/** Peer-supplied text shortened for a log line, so that a long id or topic cannot flood the log. */
export function clip(text: string, max = 40): string {
    return text.length > max ? `${text.slice(0, max)}…` : text;
}
