// The trend of a gridless series (sea-ice extent, mean sea level, ...): the hub's `trend`
// process answered at once, drawn as the fitted line over the series with its rate, 95 %
// confidence interval and p-value in words, e.g. "−12.7 % per decade (95 % CI −14.7 to −10.6),
// p < 0.001". A calendar month (September only) and a "relative to" period are optional.

import { el, field, fmt, select, statusLine } from "./dom.js";
import { executeNow } from "./jobs.js";
import { MONTHS, monthValues, parsePeriod, periodInterval, trendLine, trendText, within } from "./climate.js";

const LINE_STYLE = { borderColor: "#111111", backgroundColor: "#111111", borderDash: [7, 4], borderWidth: 2.4, pointRadius: 0, pointStyle: "line" };
const POINT_STYLE = { showLine: false, pointRadius: 3.2, pointHoverRadius: 5, pointStyle: "circle" };

function periodInput(placeholder) {
  return el("input", { type: "text", inputmode: "numeric", autocomplete: "off", maxlength: 10, size: 10, placeholder });
}

/** Two optional texts as a period (null when both are empty; one side defaults to the record's). */
function optionalPeriod(start, end, first, last, what) {
  if (!start.value.trim() && !end.value.trim()) return null;
  return parsePeriod(start.value.trim() || first, end.value.trim() || last, what);
}

/**
 * The trend form under a series chart. `current()` returns what the chart shows now:
 * {variable, series: [{label, times, values}], units, title, description}.
 * Returns {node, reset()}.
 */
export function trendTool({ cid, chart, current }) {
  const month = select([{ value: "", label: "all time steps" },
    ...MONTHS.map((name, i) => ({ value: String(i + 1), label: `${name} only` }))], "");
  const method = select([
    { value: "ols", label: "least squares (OLS)" },
    { value: "sen", label: "Sen's slope (Mann-Kendall test)" },
  ], "ols");
  const per = select([{ value: "decade", label: "per decade" }, { value: "year", label: "per year" }], "decade");
  const relStart = periodInput("e.g. 1981");
  const relEnd = periodInput("e.g. 2010");
  const fitStart = periodInput("first step");
  const fitEnd = periodInput("last step");
  const run = el("button", { type: "submit", class: "primary" }, "Trend");
  const remove = el("button", { type: "button", disabled: true }, "Remove the trend");
  const result = el("p", { class: "trend-result", role: "status", "aria-live": "polite" });
  const status = statusLine();
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "trend-form", "aria-label": "Trend" },
    el("div", { class: "trend-row" },
      field("Months", month).wrap,
      field("Method", method).wrap,
      field("Rate", per).wrap),
    el("div", { class: "trend-row" },
      el("fieldset", {}, el("legend", {}, "Relative to the mean of (optional)"),
        el("div", { class: "row two" }, field("From", relStart).wrap, field("Until", relEnd).wrap),
        el("small", { class: "hint" }, "Gives the rate in % of the mean over these years.")),
      el("fieldset", {}, el("legend", {}, "Fit period (optional)"),
        el("div", { class: "row two" }, field("From", fitStart).wrap, field("Until", fitEnd).wrap),
        el("small", { class: "hint" }, "Years (1979) or dates; the whole record by default."))),
    el("div", { class: "buttons" }, run, remove));
  const node = el("section", { class: "panel trend-panel", "aria-label": "Trend of the series" },
    el("h2", {}, "Trend"), form, result, status, error);

  let plain = null; // the chart before a trend was drawn
  const restore = () => {
    if (plain) chart.show(plain.series, { units: plain.units, title: plain.title });
    plain = null;
    result.textContent = "";
    remove.disabled = true;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const now = current();
    if (!now || !now.series.length) return;
    if (now.series.length > 1) {
      error.textContent = `The trend process fits one series; this collection holds ${now.series.length} (one per region).`;
      return;
    }
    const base = now.series[0];
    const first = base.times[0].slice(0, 10);
    const last = base.times[base.times.length - 1].slice(0, 10);
    let relative;
    let fit;
    try {
      relative = optionalPeriod(relStart, relEnd, first, last, "reference period");
      fit = optionalPeriod(fitStart, fitEnd, first, last, "fit period");
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const inputs = { collection: cid, variable: now.variable, method: method.value, per: per.value };
    if (month.value) inputs.month = Number(month.value);
    if (relative) inputs.relative_to = relative.text;
    if (fit) inputs.datetime = periodInterval(fit);
    run.disabled = true;
    status.textContent = "Fitting the trend…";
    try {
      const answer = await executeNow("trend", inputs);
      const summary = answer.summary || answer;
      const kept = within(base.times, base.values, fit);
      const points = month.value ? monthValues(kept.times, kept.values, Number(month.value)) : kept;
      const line = trendLine(summary, points, per.value);
      const text = trendText(summary);
      const monthName = month.value ? MONTHS[Number(month.value) - 1] : "";
      if (!plain) plain = { series: chart.series.slice(), units: now.units, title: now.title };
      const shown = [base];
      if (monthName) shown.push({ label: `${monthName} means`, times: points.times, values: points.values, style: POINT_STYLE });
      shown.push({ label: `trend: ${text}`, times: line.times, values: line.values, style: LINE_STYLE });
      chart.show(shown, { units: now.units, title: `${now.description}${monthName ? `, ${monthName}` : ""}: trend` });
      const corrected = method.value !== "sen" && /effective sample size/.test(summary.uncertainty || "");
      const how = `${method.value === "sen" ? "Sen's slope" : "least squares"}, ${fmt(summary.n)} values${
        corrected ? `, effective sample size ${fmt(summary.n_eff, 3)} (autocorrelation)` : ""}${
        relative ? `, relative to the ${relative.label} mean of ${fmt(summary.reference_mean)} ${now.units}` : ""}`;
      result.textContent = `${monthName ? `${monthName} trend` : "Trend"}: ${text} (${how})`;
      result.dataset.slope = String(summary.slope);
      status.textContent = "The trend line is drawn over the series.";
      remove.disabled = false;
    } catch (err) {
      status.textContent = "";
      error.textContent = `Could not fit the trend: ${err.message}`;
    } finally {
      run.disabled = false;
    }
  });
  remove.addEventListener("click", restore);
  return {
    node,
    /** Forget a drawn trend (the chart was redrawn with other data). */
    reset() {
      plain = null;
      result.textContent = "";
      error.textContent = "";
      remove.disabled = true;
    },
  };
}
