/** FHIR `instant` values (`_since`, `_until`): the R4 regular expression plus a calendar check. */

// R4 instant: year-month-dayThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm); seconds 60 (leap) is refused below.
const instantPattern =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d{1,9})?(Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))$/;

/** Why a value is not an instant, or undefined when it is one. */
function problemOf(value: string): string | undefined {
  const match = instantPattern.exec(value);
  if (!match) return 'is not a FHIR instant (YYYY-MM-DDThh:mm:ss[.sss] with Z or a ±hh:mm offset)';
  const [, year, month, day, , , second] = match;
  if (second === '60') return 'names a leap second, which this server cannot represent';
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (date.getUTCDate() !== Number(day)) return 'names a day that does not exist';
  if (Number(year) < 1) return 'names a year before 0001';
  return undefined;
}

/**
 * Parses `value` as a FHIR instant; returns the UTC ISO form (millisecond precision) or a reason.
 * A space before a trailing `hh:mm` offset is read as `+`: an unencoded `+` in a query string decodes to a space.
 */
export function parseInstant(value: string): { iso: string } | { problem: string } {
  const repaired = value.replace(/ (\d\d:\d\d)$/, '+$1');
  const problem = problemOf(repaired);
  if (problem) return { problem };
  const ms = Date.parse(repaired);
  if (Number.isNaN(ms)) return { problem: 'is not a valid point in time' };
  return { iso: new Date(ms).toISOString() };
}
