/**
 * The SVG of every public case (samples/cases): well-formed SVG, under 100 KB, byte-identical across two runs in this
 * process and in another process with another time zone, and no renderer-generated id left that would change with
 * the number of charts a process has drawn.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { renderTumourBurdenSvg } from '../../src/charts/render-svg.ts';
import { assessBundle } from '../../src/pipeline/assess-resources.ts';
import { caseNames, readCase } from '../cli/case-check.ts';

const names = caseNames();
const svgOf = (name: string): string => {
  const result = assessBundle(readCase(name).bundle);
  return renderTumourBurdenSvg(result.assessment, { record: result.mapped.record });
};
const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('tumour-burden SVG of the public cases', () => {
  it('has the public cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
  });

  it.each(names)('%s: well-formed SVG with the sum-of-diameters panel, under 100 KB', (name) => {
    const svg = svgOf(name);
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(svg) as Record<string, Record<string, string>>;
    expect(Object.keys(doc)).toEqual(['svg']);
    expect(doc.svg?.['@_xmlns']).toBe('http://www.w3.org/2000/svg');
    expect(svg).toContain('Sum of target diameters (mm)');
    expect(Buffer.byteLength(svg, 'utf8')).toBeLessThan(100 * 1024);
  });

  it.each(names)('%s: the same bytes twice, and no per-process renderer id', (name) => {
    const a = svgOf(name);
    const b = svgOf(name);
    expect(b).toBe(a);
    expect(a).not.toMatch(/\bzr\d+-/);
    expect(a).not.toMatch(/\bzr-/);
  });

  it('the same bytes in another process with other time zones', async () => {
    const here = new Map(names.map((name) => [name, digest(svgOf(name))]));
    const script = fileURLToPath(new URL('./fixtures/case-svg-digests.ts', import.meta.url));
    for (const tz of ['Pacific/Kiritimati', 'America/Adak']) {
      const { stdout } = await promisify(execFile)(process.execPath, [script], { env: { ...process.env, TZ: tz } });
      const there = new Map(
        stdout
          .trim()
          .split('\n')
          .map((line) => line.split(' ') as [string, string]),
      );
      expect(there).toEqual(here);
    }
  });
});
