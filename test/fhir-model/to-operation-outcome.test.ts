import { OperationOutcomeError, serverError } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { badRequest, OutcomeError, outcome } from '../../src/fhir-model/outcomes.ts';
import { toOperationOutcome } from '../../src/fhir-model/to-operation-outcome.ts';
import { describeError } from '../../src/logging.ts';

const bodyError = (status: number) => Object.assign(new Error('Unexpected token } in JSON at "Jane Doe"'), { status });
const zodError = (() => {
  const r = z.object({ a: z.object({ b: z.string() }) }).safeParse({ a: { b: 1 } });
  return r.success ? undefined : r.error;
})();

describe('toOperationOutcome: anything thrown -> status and OperationOutcome', () => {
  it.each([
    ['an OutcomeError', badRequest('Bad thing', ['x']), 400, 'invalid', 'Bad thing'],
    [
      'an OutcomeError with its own status',
      new OutcomeError(outcome('not-supported', 'No'), 405),
      405,
      'not-supported',
      'No',
    ],
    ['a ZodError', zodError, 400, 'invalid', 'Invalid input'],
    ['a 413 from body-parser', bodyError(413), 413, 'too-costly', 'Payload too large'],
    ['a 415 from body-parser', bodyError(415), 415, 'not-supported', 'Unsupported media type'],
    ['a 400 from body-parser', bodyError(400), 400, 'invalid', 'Malformed request'],
    [
      'a bug (TypeError)',
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      500,
      'exception',
      'Internal error',
    ],
    [
      "Medplum's own error (its diagnostics never sent)",
      new OperationOutcomeError(serverError(new Error('db at 10.0.0.1'))),
      500,
      'exception',
      'Internal error',
    ],
    ['a thrown string', 'boom', 500, 'exception', 'Internal error'],
  ] as const)('%s', (_name, err, status, code, text) => {
    const reply = toOperationOutcome(err);
    expect(reply.status).toBe(status);
    expect(reply.outcome.issue?.[0]?.code).toBe(code);
    expect(reply.outcome.issue?.[0]?.details?.text).toBe(text);
    expect(JSON.stringify(reply.outcome)).not.toMatch(/Jane Doe|10\.0\.0\.1|reading 'x'/);
  });

  it("gives a ZodError's issues their dot paths", () => {
    expect(toOperationOutcome(zodError).outcome.issue?.[0]?.expression).toEqual(['a.b']);
  });

  it("answers request-body errors with the edge's own texts", () => {
    const texts = { tooLarge: 'Notification body too large', encoding: 'Unsupported content encoding', malformed: 'M' };
    expect(toOperationOutcome(bodyError(413), texts).outcome.issue?.[0]?.details?.text).toBe(texts.tooLarge);
    expect(toOperationOutcome(bodyError(415), texts).outcome.issue?.[0]?.details?.text).toBe(texts.encoding);
    expect(toOperationOutcome(bodyError(400), texts).outcome.issue?.[0]?.details?.text).toBe(texts.malformed);
  });
});

describe('OutcomeError', () => {
  it("is @medplum/core's OperationOutcomeError, with a status, a static message and its cause", () => {
    const cause = new Error('ECONNREFUSED 127.0.0.1:5432');
    const err = new OutcomeError(outcome('transient', 'Database unavailable', { diagnostics: 'x' }), undefined, {
      cause,
    });
    expect(err).toBeInstanceOf(OperationOutcomeError);
    expect(err.status).toBe(503);
    expect(err.message).toBe('Database unavailable');
    expect(err.cause).toBe(cause);
  });
});

describe('describeError (what a 5xx log line carries)', () => {
  it('keeps names, codes and stack frames of the error and its causes, never a message', () => {
    const cause = Object.assign(new Error('patient Jane Doe, born 1950-01-01'), { code: 'ECONNRESET' });
    const err = new TypeError('Unexpected token in "Jane Doe"', { cause });
    const fields = describeError(err);
    expect(fields).toMatchObject({ name: 'TypeError', cause: { name: 'Error', code: 'ECONNRESET' } });
    expect((fields.stack as string[])[0]).toMatch(/^at .+:\d+:\d+\)?$/);
    expect(JSON.stringify(fields)).not.toMatch(/Jane Doe|1950/);
  });
});
