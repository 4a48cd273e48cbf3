/** Which Observation statuses count (contract section 1, "Status handling"). */
import type { Observation } from '@medplum/fhirtypes';

const COUNTED = new Set(['final', 'amended', 'corrected']);

export const isCountedStatus = (o: Observation): boolean => COUNTED.has(String(o.status));
