/**
 * Named patterns for the report conclusion (rules.md, last bullet): primary vs acquired resistance at iCPD, and
 * oligoprogression vs widespread progression.
 */
import type { LesionCourse } from './lesion-course.ts';
import type { TimepointResponse } from './types.ts';

export type Resistance = 'primary' | 'acquired';

/** Primary resistance: no iCR/iPR before iCPD. Acquired: iCPD after a response. */
export function resistanceAt(previousResponses: readonly TimepointResponse[]): Resistance {
  return previousResponses.some((r) => r === 'iCR' || r === 'iPR') ? 'acquired' : 'primary';
}

export const OLIGOPROGRESSION_MAX_LESIONS = 3;

export type ProgressionPattern = 'oligoprogression' | 'widespread';

export interface ProgressionShape {
  /** The lesions progressing at this timepoint (rules.md definition), sorted. */
  progressing: string[];
  /** Undefined when no lesion progresses by itself and the disease is not growing everywhere. */
  pattern?: ProgressionPattern;
}

/**
 * rules.md: oligoprogression is progression confined to at most 3 lesions while every other lesion is stable or
 * responding; when all measured disease grows the progression is widespread. Our reading, where rules.md is not
 * exact: oligoprogression iff 1-3 lesions progress, at least one other lesion is assessed at this timepoint, and not
 * every assessed lesion is larger than at its own nadir. Every assessed lesion growing, or more than 3 progressing:
 * widespread. No single lesion progressing (a sum that crossed the threshold by small changes) while some lesion is
 * not growing: no pattern is named.
 */
export function progressionShape(lesions: readonly LesionCourse[]): ProgressionShape {
  const progressing = lesions
    .filter((l) => l.progressing)
    .map((l) => l.id)
    .sort();
  const assessed = lesions.filter((l) => l.assessed || l.progressing);
  // A progressing lesion is growing, so "not every assessed lesion grows" means another lesion is assessed.
  const allGrowing = assessed.length > 0 && assessed.every((l) => l.growing);
  const pattern: ProgressionPattern | undefined =
    allGrowing || progressing.length > OLIGOPROGRESSION_MAX_LESIONS
      ? 'widespread'
      : progressing.length > 0
        ? 'oligoprogression'
        : undefined;
  return { progressing, pattern };
}
