/**
 * The write plan in force is said where an operator looks (issue #9 item 1): `/readyz` (check `write-plan`) of the
 * service started on a sandbox profile, with the outputs the server cannot take; and the plan itself per profile.
 */

import { Writable } from 'node:stream';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxProfileName } from '../../src/config/change-detection.ts';
import { parseCapabilities } from '../../src/fhir/capabilities.ts';
import { planWrites } from '../../src/fhir/write-plan.ts';
import type { RunningService } from '../../src/service/start-service.ts';
import { dropSchema, startAdapter, startSandboxServer, startTestService, uniqueSchema } from '../e2e/harness.ts';

async function planOf(profile: SandboxProfileName) {
  const server = await startSandboxServer({ profile });
  try {
    const cs = (await (await fetch(`${server.baseUrl}/metadata`)).json()) as CapabilityStatement;
    return planWrites(parseCapabilities(cs));
  } finally {
    await server.close();
  }
}

describe('write plan per profile', () => {
  it('medplum and hapi: one transaction, every output', async () => {
    for (const profile of ['medplum', 'hapi'] as const) {
      const plan = await planOf(profile);
      expect(plan.mode).toBe('transaction');
      expect(plan.outputs).toEqual({
        flag: true,
        diagnosticReport: true,
        documentReference: false,
        provenance: true,
        observation: true,
      });
      expect(plan.lines.filter((l) => l.includes('not'))).toEqual([]);
    }
  });

  it('epic: one request per resource, searched then created; no Flag, report as DocumentReference, no Provenance', async () => {
    const plan = await planOf('epic');
    expect(plan.mode).toBe('single');
    expect(plan.types.DiagnosticReport).toMatchObject({ create: false, update: true });
    expect(plan.types.Observation).toMatchObject({ create: true, conditionalCreate: false, ifMatch: true });
    expect(plan.outputs).toEqual({
      flag: false,
      diagnosticReport: false,
      documentReference: true,
      provenance: false,
      observation: true,
    });
    expect(plan.lines).toContain(
      'Flag: not writable on this server; status written as CancerDiseaseStatus Observation',
    );
    expect(plan.lines).toContain('DiagnosticReport: not creatable on this server; report written as DocumentReference');
    expect(plan.lines).toContain('Earlier results: searched by identifier, then created or updated with If-Match');
  });

  it('oracle: no Flag type at all, no DiagnosticReport create', async () => {
    const plan = await planOf('oracle');
    expect(plan.types.Flag).toMatchObject({ create: false, update: false });
    expect(plan.outputs).toEqual({
      flag: false,
      diagnosticReport: false,
      documentReference: true,
      provenance: false,
      observation: true,
    });
  });
});

describe('/readyz', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('says the plan in force on the epic profile', async () => {
    service = await startTestService({ database: 'pglite', env: { SANDBOX_PROFILE: 'epic' } });
    const body = (await (await fetch(`${service.url}/readyz`)).json()) as {
      checks: { name: string; ok: boolean; detail?: { mode?: string; plan?: string[] } }[];
    };
    const check = body.checks.find((c) => c.name === 'write-plan');
    expect(check?.ok).toBe(true);
    expect(check?.detail?.mode).toBe('single');
    expect(check?.detail?.plan).toContain(
      'Flag: not writable on this server; status written as CancerDiseaseStatus Observation',
    );
  });
});

describe('the start-up log', () => {
  it('says the plan in force against an Oracle-like server', async () => {
    const server = await startSandboxServer({ profile: 'oracle' });
    const schema = uniqueSchema('write_plan_log');
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const adapter = await startAdapter({ fhirBaseUrl: server.baseUrl, schema, logger: pino({ level: 'info' }, sink) });
    try {
      const plan = lines
        .map((l) => JSON.parse(l) as { msg?: string; plan?: string[] })
        .find((l) => l.msg === 'write plan');
      expect(plan?.plan).toContain(
        'Flag: not writable on this server; status written as CancerDiseaseStatus Observation',
      );
      expect(plan?.plan).toContain(
        'Provenance: not writable on this server; not written (irecist_outputs_not_written_total)',
      );
    } finally {
      await adapter.close();
      await server.close();
      await dropSchema(schema);
    }
  });
});
