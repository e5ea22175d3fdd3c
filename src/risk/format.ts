/** A fraction as a percentage with two decimals, for notes and step details ("3.00%"). */
export function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(2)}%`;
}
