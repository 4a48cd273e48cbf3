/** Looks through JSON log lines for values that must never be logged (patient data, secrets). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Finding {
  file: string;
  line: number;
  value: string;
}

export interface ScanResult {
  lines: number;
  /** Lines by pino level (10 trace … 60 fatal). */
  levels: Record<number, number>;
  /** Lines that are not one JSON object (something wrote to the log other than the logger). */
  notJson: { file: string; line: number }[];
  findings: Finding[];
}

export function scanLines(file: string, text: string, forbidden: readonly string[], result: ScanResult): void {
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    result.lines += 1;
    let level: unknown;
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      result.notJson.push({ file, line: index + 1 });
    }
    if (typeof level === 'number') result.levels[level] = (result.levels[level] ?? 0) + 1;
    for (const value of forbidden) {
      if (line.includes(value)) result.findings.push({ file, line: index + 1, value });
    }
  });
}

export function scanLogDir(dir: string, forbidden: readonly string[]): ScanResult {
  const result: ScanResult = { lines: 0, levels: {}, notJson: [], findings: [] };
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
  } catch {
    // no directory: no lines, which the caller treats as a failure
  }
  for (const file of files) scanLines(file, readFileSync(join(dir, file), 'utf8'), forbidden, result);
  return result;
}
