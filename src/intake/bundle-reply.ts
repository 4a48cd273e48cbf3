/**
 * The reply body a delivery's sender parses. HAPI sends topic-based notifications and `transaction` deliveries with its
 * client's transaction call, which parses the reply as a Bundle: an OperationOutcome there makes it count the delivery
 * as failed and retry it (HAPI-1814). Those shapes get a `batch-response` / `transaction-response` Bundle whose one
 * entry carries the outcome; every other shape gets the OperationOutcome itself. Refusals stay OperationOutcomes
 * (the delivery failed either way).
 * https://hl7.org/fhir/R4/http.html#transaction-response
 */
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import type { NotificationShape } from './notification-model.ts';

const BUNDLE_REPLY: Partial<Record<NotificationShape, Bundle['type']>> = {
  'backport-r4': 'batch-response',
  r4b: 'batch-response',
  r5: 'batch-response',
  transaction: 'transaction-response',
};

/**
 * The body of an accepting reply for a notification of `shape`.
 * @param shape - What was received.
 * @param status - The reply's HTTP status (200).
 * @param body - The outcome to tell.
 * @returns A Bundle for topic-based and transaction deliveries, else the OperationOutcome.
 */
export function replyBody(shape: string, status: number, body: OperationOutcome): OperationOutcome | Bundle {
  const type = BUNDLE_REPLY[shape as NotificationShape];
  if (type === undefined) return body;
  return {
    resourceType: 'Bundle',
    type,
    entry: [{ response: { status: `${status} ${status === 200 ? 'OK' : ''}`.trim(), outcome: body } }],
  };
}
