/**
 * A small deterministic generator (xorshift32) of numbers in [0, 1), for tests that sweep many
 * values: the same seed gives the same values, so a failure reproduces.
 */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed | 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
}
