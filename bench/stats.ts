/** Shared helpers for benchmarks: medians of repeated runs, percentiles, one JSON line out. */

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(sortedAscending: number[], p: number): number {
    if (sortedAscending.length === 0) return Number.NaN;
    const index = Math.min(sortedAscending.length - 1, Math.ceil((p / 100) * sortedAscending.length) - 1);
    return sortedAscending[Math.max(0, index)]!;
}

/** Operations per second of `operation`, run for about `durationMs`. */
export function opsPerSecond(operation: () => void, durationMs = 300): number {
    let count = 0;
    const start = process.hrtime.bigint();
    const budget = BigInt(durationMs) * 1_000_000n;
    let elapsed = 0n;
    while (elapsed < budget) {
        for (let i = 0; i < 256; i++) operation();
        count += 256;
        elapsed = process.hrtime.bigint() - start;
    }
    return count / (Number(elapsed) / 1e9);
}

/**
 * Alternates ours and the baseline `rounds` times so both see the same machine noise, and returns
 * the median rate of each and the ratio of the medians.
 */
export function compareRates(ours: () => void, baseline: () => void, rounds = 7): {ours: number; baseline: number; ratio: number} {
    const oursRates: number[] = [];
    const baselineRates: number[] = [];
    for (let round = 0; round < rounds; round++) {
        baselineRates.push(opsPerSecond(baseline));
        oursRates.push(opsPerSecond(ours));
    }
    const oursMedian = median(oursRates);
    const baselineMedian = median(baselineRates);
    return {ours: Math.round(oursMedian), baseline: Math.round(baselineMedian), ratio: Number((oursMedian / baselineMedian).toFixed(3))};
}

export function printResult(result: Record<string, unknown>): void {
    process.stdout.write(`${JSON.stringify(result)}\n`);
}
