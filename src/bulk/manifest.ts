/**
 * The manifest a completed Bulk Data export answers with (Bulk Data Access IG v2, "Response - Complete Status"),
 * checked before any of its URLs is fetched: `transactionTime` (an instant), `request`, `requiresAccessToken`, and
 * `output` / `error` / `deleted` file items, each a resource type, an absolute http(s) URL and an optional count.
 * https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status
 */
import { z } from 'zod';
import { isFhirInstant } from '../fhir-model/dates.ts';
import { OutcomeError, outcome } from '../fhir-model/outcomes.ts';
import { RESOURCE_TYPE_NAME } from '../fhir-model/resource-types.ts';

const fileItem = z.object({
  type: z.string().regex(RESOURCE_TYPE_NAME),
  url: z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'not an http(s) URL'),
  count: z.number().int().nonnegative().optional(),
});

const manifestSchema = z.object({
  transactionTime: z.string().refine(isFhirInstant, 'not a FHIR instant'),
  request: z.string(),
  requiresAccessToken: z.boolean().default(false),
  output: z.array(fileItem).default([]),
  error: z.array(fileItem).default([]),
  deleted: z.array(fileItem).default([]),
});

export type ExportFileItem = z.infer<typeof fileItem>;
export type ExportManifest = z.infer<typeof manifestSchema>;

/**
 * Reads a complete-status body.
 * @param body - The parsed JSON.
 * @returns The manifest.
 * @throws OutcomeError 502 naming the first element that is wrong.
 */
export function readManifest(body: unknown): ExportManifest {
  const parsed = manifestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new OutcomeError(
    outcome('processing', 'Bulk Data manifest malformed', {
      expression: [issue?.path.length ? issue.path.map(String).join('.') : '(root)'],
    }),
    502,
  );
}
