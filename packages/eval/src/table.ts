/** A plain-text table: the first `leftColumns` columns left-aligned, the rest right-aligned, a rule under the header. */
export function formatTextTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, k) => (k < leftColumns ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
