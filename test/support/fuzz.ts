/**
 * How many inputs a property or mutation test tries: a few thousand in `npm test` (seconds), and
 * as many as FOGBRIDGE_FUZZ_RUNS asks for in `npm run fuzz` (performance.md §4: ≥ 1M per parser).
 */
export function fuzzRuns(inCi: number): number {
    const asked = Number(process.env.FOGBRIDGE_FUZZ_RUNS);
    return Number.isInteger(asked) && asked > 0 ? asked : inCi;
}
