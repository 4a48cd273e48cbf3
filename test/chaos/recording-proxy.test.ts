/**
 * The kill drills' recorder (recording-proxy-kill-drills.ts) can fail: driven with hand-made request sequences over
 * real sockets (an upstream that answers every request with an empty Bundle), it makes an assessment of context read
 * -> write or of a context read alone (it carries the earlier results' searches), or of context read -> earlier
 * results read apart -> write (a context read that could not give them all), and it reports two assessments of one
 * patient at once (in one instance: anomalies; across instances: overlaps) and requests out of order.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AssessmentRecorder } from './recording-proxy-kill-drills.ts';

let upstream: Server | undefined;
let recorder: AssessmentRecorder | undefined;
afterEach(async () => {
  await recorder?.close();
  await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
  recorder = upstream = undefined;
});

async function start(): Promise<{ recorder: AssessmentRecorder; send: (base: string, body: object) => Promise<void> }> {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"Bundle"}'),
    );
  });
  await new Promise<void>((r) => upstream?.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/fhir/R4`;
  recorder = new AssessmentRecorder(base);
  const send = async (proxyBase: string, body: object) => {
    const res = await fetch(proxyBase, { method: 'POST', body: JSON.stringify(body) });
    await res.text();
  };
  return { recorder, send };
}

const context = (id: string) => ({
  resourceType: 'Bundle',
  type: 'batch',
  entry: [{ request: { url: `Patient/${id}` } }],
});
const earlier = (id: string) => ({
  resourceType: 'Bundle',
  type: 'batch',
  entry: [{ request: { url: `DiagnosticReport?subject=Patient%2F${id}&_count=1000` } }],
});
const write = (id: string) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [{ resource: { resourceType: 'Flag', subject: { reference: `Patient/${id}` } } }],
});

describe('the kill drills recorder', () => {
  it('one assessment with a write, then one without, then one reading its earlier results apart: no anomaly', async () => {
    const { recorder, send } = await start();
    const a = await recorder.proxy({ label: 'A' });
    for (const body of [context('p'), write('p'), context('p'), context('r'), earlier('r'), write('r')])
      await send(a.baseUrl, body);
    expect(recorder.intervals.map((i) => i.ended)).toEqual(['write', 'unchanged', 'write']);
    expect(recorder.anomalies).toEqual([]);
    expect(recorder.overlaps()).toEqual([]);
    expect(recorder.openReads()).toEqual([]);
    expect(recorder.notWrittenOnce(['p', 'r'])).toEqual({});
  });

  it('a kill: a context read still held ends at the kill and is orphaned, one answered before is not', async () => {
    const { recorder, send } = await start();
    const a = await recorder.proxy({ label: 'A', readDelayMs: 300 });
    await send(a.baseUrl, context('r'));
    const reading = send(a.baseUrl, context('p'));
    await new Promise((r) => setTimeout(r, 50));
    expect(recorder.openReads('A').map((o) => [o.patientId, o.phase])).toEqual([['p', 'context']]);
    const at = performance.now();
    expect(recorder.killed('A', at)).toEqual(['p']);
    await reading;
    expect(recorder.intervals.map((i) => [i.patientId, i.ended])).toEqual([
      ['r', 'unchanged'],
      ['p', 'killed'],
    ]);
    expect(recorder.intervals[1]?.end).toBe(at);
  });

  it('reports a second read mid-assessment, a write out of order, an overlap across instances, a double write', async () => {
    const { recorder, send } = await start();
    const held = { readDelayMs: 100 };
    const [a, b] = [await recorder.proxy({ label: 'A', ...held }), await recorder.proxy({ label: 'B', ...held })];
    // A reads p again while its first read is still held.
    await Promise.all([send(a.baseUrl, context('p')), send(a.baseUrl, context('p'))]);
    await send(a.baseUrl, write('q'));
    await send(a.baseUrl, earlier('q'));
    // A and B assess s at the same moment.
    await Promise.all([send(a.baseUrl, context('s')), send(b.baseUrl, context('s'))]);
    await send(b.baseUrl, context('p'));
    await send(b.baseUrl, write('p'));
    await send(b.baseUrl, write('p'));
    expect(recorder.anomalies).toEqual([
      'A read p again before its earlier assessment ended',
      'A wrote q before its context and earlier results were answered',
      "A read q's earlier results outside an assessment",
    ]);
    expect(recorder.overlaps()).toHaveLength(1);
    expect(recorder.notWrittenOnce(['p', 'q'])).toEqual({ p: 2 });
  });
});
