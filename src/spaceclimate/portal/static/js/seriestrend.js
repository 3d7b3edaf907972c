// The trend of a gridless series (sea-ice extent, mean sea level, ...): the hub's `trend`
// process answered at once, drawn as the fitted line over the series with its rate, 95 %
// confidence interval and p-value in words, e.g. "−12.7 % per decade (95 % CI −14.7 to −10.6),
// p < 0.001". A calendar month (September only) and a "relative to" period are optional.

import { el, field, fmt, select, statusLine } from "./dom.js";
import { executeNow } from "./jobs.js";
import { months, monthValues, parsePeriod, periodInterval, trendLine, trendText, within } from "./climate.js";
import { errorText, t } from "./i18n.js";

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
  const MONTHS = months();
  const month = select([{ value: "", label: t("trend.allSteps") },
    ...MONTHS.map((name, i) => ({ value: String(i + 1), label: t("trend.monthOnly", { month: name }) }))], "");
  const method = select([
    { value: "ols", label: t("trend.ols") },
    { value: "sen", label: t("trend.senTest") },
  ], "ols");
  const per = select([{ value: "decade", label: t("rate.perDecade") }, { value: "year", label: t("rate.perYear") }], "decade");
  const relStart = periodInput(t("period.eg", { example: "1981" }));
  const relEnd = periodInput(t("period.eg", { example: "2010" }));
  const fitStart = periodInput(t("period.firstStep"));
  const fitEnd = periodInput(t("period.lastStep"));
  const run = el("button", { type: "submit", class: "primary" }, t("trend.title"));
  const remove = el("button", { type: "button", disabled: true }, t("trend.remove"));
  const result = el("p", { class: "trend-result", role: "status", "aria-live": "polite" });
  const status = statusLine();
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "trend-form", "aria-label": t("trend.title") },
    el("div", { class: "trend-row" },
      field(t("trend.months"), month).wrap,
      field(t("trend.method"), method).wrap,
      field(t("trend.rate"), per).wrap),
    el("div", { class: "trend-row" },
      el("fieldset", {}, el("legend", {}, t("trend.relative")),
        el("div", { class: "row two" }, field(t("time.from"), relStart).wrap, field(t("period.until"), relEnd).wrap),
        el("small", { class: "hint" }, t("trend.relativeHint"))),
      el("fieldset", {}, el("legend", {}, t("trend.fitPeriod")),
        el("div", { class: "row two" }, field(t("time.from"), fitStart).wrap, field(t("period.until"), fitEnd).wrap),
        el("small", { class: "hint" }, t("trend.fitHint")))),
    el("div", { class: "buttons" }, run, remove));
  const node = el("section", { class: "panel trend-panel", "aria-label": t("trend.ofSeries") },
    el("h2", {}, t("trend.title")), form, result, status, error);

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
      error.textContent = t("trend.oneSeries", { count: now.series.length });
      return;
    }
    const base = now.series[0];
    const first = base.times[0].slice(0, 10);
    const last = base.times[base.times.length - 1].slice(0, 10);
    let relative;
    let fit;
    try {
      relative = optionalPeriod(relStart, relEnd, first, last, t("period.reference"));
      fit = optionalPeriod(fitStart, fitEnd, first, last, t("period.fit"));
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const inputs = { collection: cid, variable: now.variable, method: method.value, per: per.value };
    if (month.value) inputs.month = Number(month.value);
    if (relative) inputs.relative_to = relative.text;
    if (fit) inputs.datetime = periodInterval(fit);
    run.disabled = true;
    status.textContent = t("trend.fitting");
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
      if (monthName) shown.push({ label: t("trend.monthMeans", { month: monthName }), times: points.times, values: points.values, style: POINT_STYLE });
      shown.push({ label: t("trend.lineLabel", { text }), times: line.times, values: line.values, style: LINE_STYLE });
      chart.show(shown, { units: now.units, title: t("trend.chartTitle", { what: `${now.description}${monthName ? `, ${monthName}` : ""}` }) });
      const corrected = method.value !== "sen" && /effective sample size/.test(summary.uncertainty || "");
      const how = [
        t("trend.howValues", { method: method.value === "sen" ? t("trend.sen") : t("trend.leastSquares"), n: fmt(summary.n) }),
        corrected ? t("trend.howEffective", { n: fmt(summary.n_eff, 3) }) : "",
        relative ? t("trend.howRelative", { period: relative.label, mean: `${fmt(summary.reference_mean)} ${now.units}` }) : "",
      ].join("");
      result.textContent = t("trend.result", { what: monthName ? t("trend.monthTrend", { month: monthName }) : t("trend.title"), text, how });
      result.dataset.slope = String(summary.slope);
      status.textContent = t("trend.drawn");
      remove.disabled = false;
    } catch (err) {
      status.textContent = "";
      error.textContent = t("trend.failed", { message: errorText(err) });
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
