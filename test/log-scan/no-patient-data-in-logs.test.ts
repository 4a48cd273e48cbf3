/**
 * Runs after the whole suite (`npm test`: a second vitest run, vitest.log-scan.config.ts) and reads every line the adapter logged during it, at
 * every level (test/setup/capture-logs.ts): none may hold the patients' names, birth dates, identifiers, contact
 * details or any secret the tests configured.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_SECRET } from '../e2e/harness.ts';
import { LATEST_RUN_FILE } from '../setup/log-dir.ts';
import { SENTINEL_VALUES } from '../setup/patient-data-sentinels.ts';
import { type ScanResult, scanLines, scanLogDir } from './find-forbidden.ts';

/** The patient data of the public cases themselves (their names are their ids, which may be logged). */
const CASE_PATIENT_DATA = ['1961-04-02', 'Biscuit'];

/** Secrets the suite's services and commands are started with. */
const TEST_SECRETS = [WEBHOOK_SECRET, 'a-webhook-secret-of-some-length', 'hunter2-secret'];

const FORBIDDEN = [...SENTINEL_VALUES, ...CASE_PATIENT_DATA, ...TEST_SECRETS];

describe('the logs of the whole test suite', () => {
  it('the scan finds patient data wherever it sits in a line', () => {
    const result: ScanResult = { lines: 0, levels: {}, notJson: [], findings: [] };
    const line = JSON.stringify({ level: 50, msg: 'failed', err: { body: { name: [{ family: 'Quillfeather' }] } } });
    scanLines('self-check', `${line}\nnot json\n`, FORBIDDEN, result);
    expect(result.findings).toEqual([{ file: 'self-check', line: 1, value: 'Quillfeather' }]);
    expect(result.notJson).toEqual([{ file: 'self-check', line: 2 }]);
  });

  it('hold no patient data and no secret, at any level', () => {
    const dir = existsSync(LATEST_RUN_FILE) ? readFileSync(LATEST_RUN_FILE, 'utf8') : '(no suite run yet)';
    const result = scanLogDir(dir, FORBIDDEN);
    // A scan of nothing proves nothing: the suite must have logged, at the finest levels too.
    expect(result.lines, `only ${result.lines} log lines in ${dir}: run the whole suite (npm test)`).toBeGreaterThan(
      1000,
    );
    expect(Object.keys(result.levels).map(Number)).toEqual(expect.arrayContaining([20, 30, 40]));
    console.info(`log scan: ${result.lines} lines, by level ${JSON.stringify(result.levels)}`);
    const shown = result.findings.slice(0, 20).map((f) => {
      const text = readFileSync(join(dir, f.file), 'utf8').split('\n')[f.line - 1] ?? '';
      return `${f.file}:${f.line} holds "${f.value}": ${text.slice(0, 300)}`;
    });
    expect(shown).toEqual([]);
    expect(result.notJson.slice(0, 20)).toEqual([]);
  });
});
