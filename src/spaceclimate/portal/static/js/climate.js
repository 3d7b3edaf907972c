// Climate arithmetic done in the browser on series the hub returns: baselines, calendar-slot
// climatologies and anomalies, monthly means, trend lines and how to say a trend in words.
// The rules follow the hub's own processes (spaceclimate.compute.climatology and .trends), so
// a series shown here as anomalies is the one the `anomaly` process would give for it.

import { formatPlain, monthName, t } from "./i18n.js";

const DAY_MS = 86400000;
const DAYS_PER_YEAR = 365.2425;
const FEB29 = 60;
/** The names of the calendar months in the current language (January...). */
export function months() {
  return Array.from({ length: 12 }, (_, i) => monthName(i + 1));
}

const PART = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/** Whether a text is a year, a year-month or a date (2007, 2007-06, 2007-06-05). */
export function isPeriodPart(text) {
  const m = String(text).trim().match(PART);
  if (!m) return false;
  const month = m[2] ? Number(m[2]) : 1;
  const day = m[3] ? Number(m[3]) : 1;
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/** First and last millisecond covered by a year, month or date (like pandas' partial strings). */
function partBounds(text) {
  const m = String(text).trim().match(PART);
  const y = Number(m[1]);
  if (!m[2]) return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1) - 1];
  const mo = Number(m[2]) - 1;
  if (!m[3]) return [Date.UTC(y, mo, 1), Date.UTC(y, mo + 1, 1) - 1];
  const d = Number(m[3]);
  return [Date.UTC(y, mo, d), Date.UTC(y, mo, d + 1) - 1];
}

/** The label of a period for people: 2007–2009, or 2017-06-05 to 2017-06-07. */
export function periodLabel(start, end) {
  const a = String(start).trim();
  const b = String(end).trim();
  if (a === b) return a;
  return a.length === 4 && b.length === 4 ? `${a}–${b}` : t("time.range", { start: a, end: b });
}

/**
 * Read a baseline (or any period) from two texts: years or dates, start not after end.
 * Returns {start, end, text: "2007/2009" (what the hub's processes take), label, from, to}
 * (from/to: the milliseconds covered) or throws an Error saying what is wrong.
 */
export function parsePeriod(start, end, what = t("period.baseline")) {
  const a = String(start || "").trim();
  const b = String(end || "").trim();
  if (!a || !b) throw new Error(t("period.missing", { what }));
  for (const part of [a, b]) {
    if (!isPeriodPart(part)) throw new Error(t("period.invalid", { what, part }));
  }
  const [from] = partBounds(a);
  const [, to] = partBounds(b);
  if (from > to) throw new Error(t("period.reversed", { what, start: a, end: b }));
  return { start: a, end: b, text: `${a}/${b}`, label: periodLabel(a, b), from, to };
}

/** An RFC 3339 interval covering a period (for `datetime` inputs). */
export function periodInterval(period) {
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  return `${iso(period.from)}/${iso(period.to - 999)}`;
}

/**
 * A sensible default baseline for a record with these times: the full calendar years it
 * covers (1991–2020 when covered, else the last 30 at most), or its whole range as dates when
 * it covers no full year. Returns {start, end} texts, or null without times.
 */
export function defaultBaseline(times) {
  if (!times || !times.length) return null;
  const ms = times.map((t) => Date.parse(t)).filter(Number.isFinite);
  if (!ms.length) return null;
  const first = new Date(Math.min(...ms));
  const last = new Date(Math.max(...ms));
  const monthly = medianStepDays(times) > 1.5;
  // a year is full when the record starts at (or, for monthly data, within) its first month
  const startsInJanuary = monthly ? first.getUTCMonth() === 0 : first.getUTCMonth() === 0 && first.getUTCDate() <= 1;
  const endsInDecember = monthly ? last.getUTCMonth() === 11 : last.getUTCMonth() === 11 && last.getUTCDate() >= 31;
  // the full years that hold data (a sparse record may have none: take all of it then)
  const years = new Set(ms.map((t) => new Date(t).getUTCFullYear()));
  const full = [];
  for (let y = first.getUTCFullYear() + (startsInJanuary ? 0 : 1); y <= last.getUTCFullYear() - (endsInDecember ? 0 : 1); y += 1) {
    if (years.has(y)) full.push(y);
  }
  if (!full.length) return { start: first.toISOString().slice(0, 10), end: last.toISOString().slice(0, 10) };
  const [y0, y1] = [full[0], full[full.length - 1]];
  if (y0 <= 1991 && y1 >= 2020) return { start: "1991", end: "2020" };
  return { start: String(Math.max(y0, y1 - 29)), end: String(y1) };
}

/** Median spacing of ISO times in days (NaN for fewer than two). */
export function medianStepDays(times) {
  if (!times || times.length < 2) return NaN;
  const ms = times.map((t) => Date.parse(t));
  const steps = ms.slice(1).map((t, i) => (t - ms[i]) / DAY_MS).sort((a, b) => a - b);
  const mid = Math.floor(steps.length / 2);
  return steps.length % 2 ? steps[mid] : (steps[mid - 1] + steps[mid]) / 2;
}

/** The calendar slot a climatology groups by: dayofyear (daily), month (monthly), all. */
export function slotKind(times) {
  const step = medianStepDays(times);
  if (!Number.isFinite(step) || step <= 1.5) return "dayofyear";
  if (step <= 32) return "month";
  return "all";
}

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Day of a 366-day year in which 29 February is day 60 and 1 March always day 61. */
export function dayOfYear366(iso) {
  const d = new Date(iso);
  const y = d.getUTCFullYear();
  const doy = Math.floor((Date.UTC(y, d.getUTCMonth(), d.getUTCDate()) - Date.UTC(y, 0, 1)) / DAY_MS) + 1;
  return !isLeap(y) && doy >= FEB29 ? doy + 1 : doy;
}

function slotOf(kind) {
  if (kind === "dayofyear") return dayOfYear366;
  if (kind === "month") return (iso) => new Date(iso).getUTCMonth() + 1;
  return () => 0;
}

/**
 * Anomalies of a series against its climatology over a baseline period: the mean of each
 * calendar slot (day of year for daily data, month for monthly data, one slot for coarser
 * steps) over the baseline's valid values, subtracted from every value. A 29 February slot
 * without baseline data is the mean of 28 February and 1 March (as the hub does).
 *
 * Returns {values, kind, climatology: Map(slot -> mean), missing: slots without a baseline}.
 */
export function anomalies(times, values, period, kind = slotKind(times)) {
  const slot = slotOf(kind);
  const sums = new Map();
  const counts = new Map();
  times.forEach((t, i) => {
    const ms = Date.parse(t);
    const v = values[i];
    if (ms < period.from || ms > period.to || v === null || !Number.isFinite(v)) return;
    const s = slot(t);
    sums.set(s, (sums.get(s) || 0) + v);
    counts.set(s, (counts.get(s) || 0) + 1);
  });
  if (!counts.size) throw new Error(t("period.noValue", { period: period.label }));
  const climatology = new Map([...sums].map(([s, sum]) => [s, sum / counts.get(s)]));
  if (kind === "dayofyear" && !climatology.has(FEB29)
    && climatology.has(FEB29 - 1) && climatology.has(FEB29 + 1)) {
    climatology.set(FEB29, (climatology.get(FEB29 - 1) + climatology.get(FEB29 + 1)) / 2);
  }
  const missing = new Set();
  const out = times.map((t, i) => {
    const v = values[i];
    const s = slot(t);
    if (!climatology.has(s)) {
      missing.add(s);
      return null;
    }
    return v === null || !Number.isFinite(v) ? null : v - climatology.get(s);
  });
  return { values: out, kind, climatology, missing: [...missing] };
}

/** Times as decimal years (1970 + days / 365.2425), the hub's trend time axis. */
export function decimalYear(iso) {
  return 1970 + Date.parse(iso) / DAY_MS / DAYS_PER_YEAR;
}

/** Whether a series is finer than monthly (its smallest step under 27 days). */
export function finerThanMonthly(times) {
  if (!times || times.length < 2) return false;
  let smallest = Infinity;
  for (let i = 1; i < times.length; i += 1) smallest = Math.min(smallest, Date.parse(times[i]) - Date.parse(times[i - 1]));
  return smallest / DAY_MS < 27;
}

/**
 * The values of one calendar month (1-12) of each year: the mean of the month's valid values
 * for data finer than monthly (labelled on the 1st), or the monthly values themselves.
 */
export function monthValues(times, values, month) {
  const out = { times: [], values: [] };
  if (!finerThanMonthly(times)) {
    times.forEach((t, i) => {
      if (new Date(t).getUTCMonth() + 1 === month) {
        out.times.push(t);
        out.values.push(values[i]);
      }
    });
    return out;
  }
  const groups = new Map();
  times.forEach((t, i) => {
    const d = new Date(t);
    if (d.getUTCMonth() + 1 !== month) return;
    const key = d.getUTCFullYear();
    if (!groups.has(key)) groups.set(key, []);
    const v = values[i];
    if (v !== null && Number.isFinite(v)) groups.get(key).push(v);
  });
  for (const [year, vals] of [...groups].sort((a, b) => a[0] - b[0])) {
    out.times.push(`${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-01T00:00:00Z`);
    out.values.push(vals.length ? vals.reduce((s, v) => s + v, 0) / vals.length : null);
  }
  return out;
}

/** Keep the steps of a series inside a period (or all of them without one). */
export function within(times, values, period) {
  if (!period) return { times, values };
  const keep = times.map((t) => Date.parse(t)).map((ms) => ms >= period.from && ms <= period.to);
  return { times: times.filter((_, i) => keep[i]), values: values.filter((_, i) => keep[i]) };
}

function median(list) {
  const s = list.slice().sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The fitted line of a trend summary from the hub's `trend` process, in the data's units, at
 * the times of the fitted points. OLS lines pass through (time_mean, mean); Sen's lines use
 * the median intercept of the points. Rates in percent (relative_to) are turned back into data
 * units with the summary's reference_mean.
 */
export function trendLine(summary, points, per = "decade") {
  const perYear = per === "decade" ? 10 : 1;
  const relative = summary.reference_mean !== undefined && String(summary.units || "").startsWith("%");
  const slope = (relative ? (summary.slope / 100) * summary.reference_mean : summary.slope) / perYear;
  const x = points.times.map(decimalYear);
  let at;
  if (summary.mean !== undefined && summary.time_mean !== undefined) {
    at = (t) => summary.mean + slope * (t - summary.time_mean);
  } else {
    const residuals = points.values
      .map((v, i) => (v === null || !Number.isFinite(v) ? null : v - slope * x[i]))
      .filter((v) => v !== null);
    const intercept = residuals.length ? median(residuals) : NaN;
    at = (t) => intercept + slope * t;
  }
  return { times: points.times.slice(), values: x.map(at), slopePerYear: slope };
}

/** Rate units for people: "% / (10 year)" -> "% per decade", "K year-1" -> "K per year". */
export function rateUnitsLabel(units) {
  const text = String(units || "").trim();
  let m = text.match(/^(.*?)\s*\/\s*\(10 year\)$/);
  if (m) return m[1] && m[1] !== "1" ? t("rate.unitsPerDecade", { units: m[1] }) : t("rate.perDecade");
  m = text.match(/^(.*?)\s*year-1$/);
  if (m) return m[1] && m[1] !== "1" ? t("rate.unitsPerYear", { units: m[1] }) : t("rate.perYear");
  return text;
}

/** A number with 3 significant digits and a true minus sign (−12.7). */
export function signed(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(value)) return t("value.na");
  const abs = Math.abs(value);
  const exponent = abs !== 0 && (abs >= 1e6 || abs < 1e-3);
  const text = exponent ? abs.toExponential(digits - 1) : formatPlain(abs, digits);
  const zero = exponent ? Number(text) === 0 : Number(abs.toPrecision(digits)) === 0;
  return value < 0 && !zero ? `−${text}` : text;
}

/** A p-value for people: p < 0.001, or p = 0.034. */
export function pValueLabel(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return `p ${t("value.na")}`;
  if (p < 0.001) return `p < ${formatPlain(0.001, 1)}`;
  return `p = ${formatPlain(p, 2)}`;
}

/** "−12.7 % per decade (95 % CI −14.7 to −10.6), p < 0.001" from a trend summary. */
export function trendText(summary) {
  const units = rateUnitsLabel(summary.units);
  const ci = Number.isFinite(summary.ci_lower) && Number.isFinite(summary.ci_upper)
    ? t("trend.ci", { low: signed(summary.ci_lower), high: signed(summary.ci_upper) }) : "";
  return `${signed(summary.slope)} ${units}${ci}, ${pValueLabel(summary.p_value)}`;
}
