/** ImagingStudy -> a scan date. `cancelled` and `entered-in-error` studies are ignored (contract section 1). */
import type { ImagingStudy } from '@medplum/fhirtypes';
import type { DataQualityIssue, IsoDate } from '../domain/types.ts';
import { datePart } from '../fhir-model/dates.ts';
import { refOf } from './fhir-helpers.ts';

const IGNORED = new Set(['cancelled', 'entered-in-error']);

export function readImagingStudy(study: ImagingStudy, issues: DataQualityIssue[]): IsoDate | undefined {
  if (IGNORED.has(String(study.status))) return undefined;
  const date = datePart(study.started);
  if (!date) {
    issues.push({
      code: 'study-without-date',
      text: 'An ImagingStudy has no usable `started` date and was not used.',
      source: refOf(study),
    });
  }
  return date;
}
