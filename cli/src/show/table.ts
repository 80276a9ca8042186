export interface Column {
  readonly header: string;
  /** Values longer than this are truncated (subctl's MaxLength). */
  readonly max?: number;
}

/** subctl's table format: each column `%-<w+3>.<w>s`, w = max(header, values capped at max). */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => {
    const vals = rows.map((r) => Math.min((r[i] ?? "").length, c.max ?? Number.POSITIVE_INFINITY));
    return Math.max(c.header.length, ...vals);
  });
  const line = (cells: readonly string[]) =>
    cells
      .map((v, i) => (v ?? "").slice(0, widths[i]).padEnd((widths[i] ?? 0) + 3))
      .join("")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join("\n");
}
