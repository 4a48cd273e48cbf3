/**
 * zod schemas for every notification body shape the adapter accepts (contract section 4). They read only what intake
 * needs (types, ids, references, event numbers) and check the syntax of each id and reference before it is used.
 *
 * - single resource (Medplum rest-hook, HAPI PUT with payload): https://www.medplum.com/docs/subscriptions
 * - R4 Backport notification Bundle (type `history`, first entry Parameters status):
 *   https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html
 * - R4B/R5 notification Bundle (first entry SubscriptionStatus; type `history` or `subscription-notification`):
 *   https://hl7.org/fhir/R5/subscriptionstatus.html
 * - transaction/batch Bundle (older servers).
 */
import { z } from 'zod';
import { FhirIdSchema } from '../fhir-model/ids.ts';
import { parseReference, type ResourceKey } from '../fhir-model/references.ts';
import { type KnownResourceType, knownResourceTypes } from '../fhir-model/resource-types.ts';

const MAX_URL = 4096;
const MAX_CODE = 256;

/** A Reference: `reference` is checked and, when it is a literal `Type/id` reference, parsed into `target`. */
export const ReferenceSchema = z
  .object({ reference: z.string().max(MAX_URL).optional() })
  .transform((ref, ctx): { target?: ResourceKey } => {
    if (ref.reference === undefined) return {};
    const parsed = parseReference(ref.reference);
    if (parsed.kind === 'invalid') {
      ctx.addIssue({ code: 'custom', message: 'Invalid reference: unknown type or invalid id', path: ['reference'] });
      return z.NEVER;
    }
    return parsed.kind === 'literal' ? { target: parsed.key } : {};
  });

/** A subscription event number (integer64: a string of digits in JSON, or a plain non-negative integer). */
export const EventNumberSchema = z.union(
  [
    z
      .string()
      .regex(/^\d{1,15}$/)
      .transform(Number),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ],
  { error: 'Invalid event number' },
);

const SUBJECT_TYPES = ['Observation', 'DiagnosticReport', 'ImagingStudy', 'MedicationAdministration'] as const;
type SpecificType = (typeof SUBJECT_TYPES)[number] | 'Patient' | 'BodyStructure';
type OtherType = Exclude<KnownResourceType, SpecificType>;
const SPECIFIC_TYPES: readonly string[] = ['Patient', 'BodyStructure', ...SUBJECT_TYPES];
const OTHER_TYPES = knownResourceTypes().filter((t): t is OtherType => !SPECIFIC_TYPES.includes(t)) as [
  OtherType,
  ...OtherType[],
];

const MetaSchema = z.object({ profile: z.array(z.string().max(MAX_URL)).optional() });
const IdentifierSchema = z.object({ system: z.string().max(MAX_URL).optional() });

/**
 * Any resource. The input types are read closely (subject/patient, meta.profile, identifier);
 * any other known type passes with only its id checked; unknown types are refused.
 */
export const ResourceSchema = z.discriminatedUnion(
  'resourceType',
  [
    z.object({ resourceType: z.literal('Patient'), id: FhirIdSchema.optional() }),
    z.object({
      resourceType: z.enum(SUBJECT_TYPES),
      id: FhirIdSchema.optional(),
      meta: MetaSchema.optional(),
      identifier: z.array(IdentifierSchema).optional(),
      subject: ReferenceSchema.optional(),
    }),
    z.object({
      resourceType: z.literal('BodyStructure'),
      id: FhirIdSchema.optional(),
      patient: ReferenceSchema.optional(),
    }),
    z.object({ resourceType: z.enum(OTHER_TYPES), id: FhirIdSchema.optional() }),
  ],
  { error: 'Unknown or missing resourceType' },
);
export type ParsedResource = z.output<typeof ResourceSchema>;

const EntryRequestSchema = z.object({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']),
  url: z.string().max(MAX_URL),
});

export const BundleEntrySchema = z.object({
  fullUrl: z.string().max(MAX_URL).optional(),
  resource: ResourceSchema.optional(),
  request: EntryRequestSchema.optional(),
});
export type ParsedEntry = z.output<typeof BundleEntrySchema>;

export const NOTIFICATION_TYPES = ['handshake', 'heartbeat', 'event-notification', 'query-status'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** One notification event: its number and what it is about. */
export interface NotificationEvent {
  eventNumber?: number;
  focus?: ResourceKey;
  additionalContext: ResourceKey[];
}

/** The status part of a topic-based notification, whichever form it came in. */
export interface NotificationStatus {
  form: 'parameters' | 'subscription-status';
  subscriptionId: string;
  type: NotificationType;
  eventsSinceSubscriptionStart?: number;
  events: NotificationEvent[];
}

// Backport R4: Parameters.parameter, name-keyed. Only the values intake reads are typed.
const ParameterValueShape = {
  name: z.string().max(MAX_CODE),
  valueReference: ReferenceSchema.optional(),
  valueCode: z.string().max(MAX_CODE).optional(),
  valueString: z.string().max(MAX_URL).optional(),
  valueUnsignedInt: z.number().optional(),
  valuePositiveInt: z.number().optional(),
  valueInteger: z.number().optional(),
  valueInteger64: z.string().max(MAX_CODE).optional(),
  valueDecimal: z.number().optional(),
};
const ParameterPartSchema = z.object(ParameterValueShape);
const ParameterSchema = z.object({ ...ParameterValueShape, part: z.array(ParameterPartSchema).optional() });
type ParameterOut = z.output<typeof ParameterPartSchema>;

const NUMBER_KEYS = [
  'valueString',
  'valueUnsignedInt',
  'valuePositiveInt',
  'valueInteger',
  'valueInteger64',
  'valueDecimal',
] as const;

/** Reads an event number from whichever value[x] carries it; undefined = absent; issues are added on bad values. */
function numberValue(p: ParameterOut, ctx: z.RefinementCtx, path: PropertyKey[]): number | undefined {
  for (const key of NUMBER_KEYS) {
    const value = p[key];
    if (value === undefined) continue;
    const parsed = EventNumberSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: 'Invalid event number', path: [...path, key] });
    return undefined;
  }
  ctx.addIssue({ code: 'custom', message: 'Missing event number value', path });
  return undefined;
}

function subscriptionIdOf(
  target: ResourceKey | undefined,
  ctx: z.RefinementCtx,
  path: PropertyKey[],
): string | undefined {
  if (target?.resourceType === 'Subscription') return target.id;
  ctx.addIssue({ code: 'custom', message: 'Expected a reference to a Subscription', path });
  return undefined;
}

const BackportParametersSchema = z.object({
  resourceType: z.literal('Parameters'),
  parameter: z.array(ParameterSchema).min(1),
});

function fromParameters(
  params: z.output<typeof BackportParametersSchema>,
  ctx: z.RefinementCtx,
): NotificationStatus | undefined {
  let subscriptionId: string | undefined;
  let type: NotificationType | undefined;
  let eventsSince: number | undefined;
  const events: NotificationEvent[] = [];
  params.parameter.forEach((p, i) => {
    const at = ['parameter', i];
    switch (p.name) {
      case 'subscription':
        subscriptionId = subscriptionIdOf(p.valueReference?.target, ctx, [...at, 'valueReference']);
        break;
      case 'type': {
        const parsed = z.enum(NOTIFICATION_TYPES).safeParse(p.valueCode);
        if (parsed.success) type = parsed.data;
        else ctx.addIssue({ code: 'custom', message: 'Invalid notification type', path: [...at, 'valueCode'] });
        break;
      }
      case 'events-since-subscription-start':
        eventsSince = numberValue(p, ctx, at);
        break;
      case 'notification-event': {
        const event: NotificationEvent = { additionalContext: [] };
        (p.part ?? []).forEach((part, j) => {
          const partAt = [...at, 'part', j];
          if (part.name === 'event-number') event.eventNumber = numberValue(part, ctx, partAt);
          else if (part.name === 'focus' && part.valueReference?.target) event.focus = part.valueReference.target;
          else if (part.name === 'additional-context' && part.valueReference?.target)
            event.additionalContext.push(part.valueReference.target);
        });
        events.push(event);
        break;
      }
      default:
        break; // topic, status, error, ...: not needed here
    }
  });
  if (subscriptionId === undefined && !params.parameter.some((p) => p.name === 'subscription'))
    ctx.addIssue({ code: 'custom', message: 'Missing subscription parameter', path: ['parameter'] });
  if (type === undefined && !params.parameter.some((p) => p.name === 'type'))
    ctx.addIssue({ code: 'custom', message: 'Missing type parameter', path: ['parameter'] });
  if (subscriptionId === undefined || type === undefined) return undefined;
  return { form: 'parameters', subscriptionId, type, eventsSinceSubscriptionStart: eventsSince, events };
}

const SubscriptionStatusSchema = z.object({
  resourceType: z.literal('SubscriptionStatus'),
  type: z.enum(NOTIFICATION_TYPES, { error: 'Invalid notification type' }),
  eventsSinceSubscriptionStart: EventNumberSchema.optional(),
  notificationEvent: z
    .array(
      z.object({
        eventNumber: EventNumberSchema,
        focus: ReferenceSchema.optional(),
        additionalContext: z.array(ReferenceSchema).optional(),
      }),
    )
    .optional(),
  subscription: ReferenceSchema,
});

/** The first entry of a topic-based notification: Backport Parameters or an R4B/R5 SubscriptionStatus. */
export const NotificationStatusSchema = z
  .discriminatedUnion('resourceType', [BackportParametersSchema, SubscriptionStatusSchema], {
    error: 'Expected a Parameters (Backport R4) or SubscriptionStatus resource',
  })
  .transform((status, ctx): NotificationStatus => {
    if (status.resourceType === 'Parameters') return fromParameters(status, ctx) ?? z.NEVER;
    const subscriptionId = subscriptionIdOf(status.subscription.target, ctx, ['subscription', 'reference']);
    if (subscriptionId === undefined) return z.NEVER;
    return {
      form: 'subscription-status',
      subscriptionId,
      type: status.type,
      eventsSinceSubscriptionStart: status.eventsSinceSubscriptionStart,
      events: (status.notificationEvent ?? []).map((e) => ({
        eventNumber: e.eventNumber,
        focus: e.focus?.target,
        additionalContext: (e.additionalContext ?? []).flatMap((c) => (c.target ? [c.target] : [])),
      })),
    };
  });

const NotificationBundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  type: z.enum(['history', 'subscription-notification']),
  entry: z.tuple([z.object({ resource: NotificationStatusSchema })], BundleEntrySchema),
});

const TransactionBundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  type: z.enum(['transaction', 'batch']),
  entry: z.array(BundleEntrySchema).optional(),
});

/** A Bundle body: a topic-based notification, or a transaction/batch from an older server. */
export const BundleSchema = z.discriminatedUnion('type', [NotificationBundleSchema, TransactionBundleSchema], {
  error: 'Unsupported Bundle type: expected history, subscription-notification, transaction or batch',
});
export type ParsedBundle = z.output<typeof BundleSchema>;
export type TopicNotificationBundle = z.output<typeof NotificationBundleSchema>;
export type TransactionBundle = z.output<typeof TransactionBundleSchema>;

export function isTopicNotificationBundle(bundle: ParsedBundle): bundle is TopicNotificationBundle {
  return bundle.type === 'history' || bundle.type === 'subscription-notification';
}
