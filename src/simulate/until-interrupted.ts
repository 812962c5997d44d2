/** Resolves at the first Ctrl-C or SIGTERM: how a simulator run from the CLI knows to stop. */
export function untilInterrupted(): Promise<void> {
    return new Promise<void>((resolve) => {
        const finish = (): void => {
            process.off('SIGINT', finish);
            process.off('SIGTERM', finish);
            resolve();
        };
        process.on('SIGINT', finish);
        process.on('SIGTERM', finish);
    });
}
