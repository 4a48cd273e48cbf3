/** Plain-text tables for people (padded columns, no trailing spaces). */

/**
 * Rows of cells, the first row the header, as aligned text. Plain loops: every report renders two of these, so on a
 * long history this is a visible part of the pipeline's time.
 */
export function textTable(rows: readonly (readonly string[])[]): string {
  const columns = rows[0]!.length;
  const widths = new Array<number>(columns).fill(0);
  for (const r of rows) {
    for (let i = 0; i < columns; i++) {
      const n = r[i]!.length;
      if (n > widths[i]!) widths[i] = n;
    }
  }
  let text = '';
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j]!;
    let line = r[0]!.padEnd(widths[0]!);
    for (let i = 1; i < columns; i++) line += `  ${r[i]!.padEnd(widths[i]!)}`;
    text += j === 0 ? line.trimEnd() : `\n${line.trimEnd()}`;
  }
  return text;
}
