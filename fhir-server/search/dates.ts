/**
 * FHIR dates as ranges of epoch milliseconds. A `date`, `dateTime` or `instant`
 * (and a search value) stands for every instant within its precision: `2020`
 * is the whole year, `2020-03-01T10:00:00Z` the whole second. Values without a
 * time zone are read as UTC. Open ends of a Period are the smallest and largest
 * instants JavaScript can hold.
 */

/** An inclusive range of epoch milliseconds. */
export interface MsRange {
  /** First millisecond. */
  start: number;
  /** Last millisecond. */
  end: number;
}

/** The earliest instant (an open Period start). */
export const minInstant = -8.64e15;
/** The latest instant (an open Period end). */
export const maxInstant = 8.64e15;

const pattern = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function offsetMs(zone: string | undefined): number {
  if (!zone || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}

/** The range `text` stands for; undefined when it is not a FHIR date, dateTime or instant (or a search value of one). */
export function dateRange(text: string): MsRange | undefined {
  const m = pattern.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? 0 : Number(mo) - 1;
  const day = d === undefined ? 1 : Number(d);
  if (month > 11 || day < 1 || day > 31 || (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 60))) return undefined;
  const utc = (yy: number, mm: number, dd: number, hh = 0, mn = 0, ss = 0, ms = 0): number => {
    const at = new Date(Date.UTC(2000, mm, dd, hh, mn, ss, ms));
    at.setUTCFullYear(yy); // years below 100 stay as written
    return at.getTime();
  };
  if (mo === undefined) return { start: utc(year, 0, 1), end: utc(year + 1, 0, 1) - 1 };
  if (d === undefined) return { start: utc(year, month, 1), end: utc(year, month + 1, 1) - 1 };
  if (new Date(utc(year, month, day)).getUTCDate() !== day) return undefined; // 2021-02-30
  if (h === undefined) return { start: utc(year, month, day), end: utc(year, month, day + 1) - 1 };
  const shift = offsetMs(zone);
  if (s === undefined) {
    const start = utc(year, month, day, Number(h), Number(mi)) - shift;
    return { start, end: start + 59_999 };
  }
  const digits = fraction ?? '';
  const ms = Number((digits + '000').slice(0, 3));
  const start = utc(year, month, day, Number(h), Number(mi), Number(s), ms) - shift;
  const width = digits.length >= 3 ? 1 : 10 ** (3 - digits.length);
  return { start, end: start + width - 1 };
}

const firstSortable = Date.parse('0000-01-01T00:00:00.000Z');
const lastSortable = Date.parse('9999-12-31T23:59:59.999Z');

/** The ISO text of an instant, clamped to years 0000–9999 so that keys made of it sort as text. */
export function sortableInstant(ms: number): string {
  return new Date(Math.min(Math.max(ms, firstSortable), lastSortable)).toISOString();
}
