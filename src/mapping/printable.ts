/** Text as a report may carry it: issues and evidence quote input values (a code, a status, a unit) as they came. */

/** Longest issue text a conclusion quotes (ours are under 250 characters; an echoed input value can be megabytes). */
export const MAX_ISSUE_TEXT = 300;
/** Longest other line: the evidence line quotes lab units as the input gave them. */
export const MAX_LINE = 2_000;
// C0 and C1 controls, bidi marks and overrides: a FHIR string allows no control character but tab and newlines
// (https://hl7.org/fhir/R4/datatypes.html#string), and a report must not be reordered by its input.
const UNPRINTABLE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** One line, unprintable characters replaced, cut to `max` characters, well-formed UTF-16. */
export function printable(text: string, max: number): string {
  const clean = text.replace(UNPRINTABLE, '?');
  return (clean.length > max ? `${clean.slice(0, max)}…` : clean).toWellFormed();
}
