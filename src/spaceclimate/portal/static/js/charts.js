// Time-series charts (Chart.js on a linear time axis) that can be saved as PNG or CSV.

import { el, fmt, saveBlob, statusLine } from "./dom.js";
import { formatDate, t } from "./i18n.js";

const COLOURS = ["#0b5394", "#d1495b", "#2a9d8f", "#e9a03b", "#6a4c93", "#4d4d4d"];
const DAY = 86400000;

const whiteBackground = {
  id: "scWhiteBackground",
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** A time axis label at the precision the span needs (year, month, day or minute). */
function tickLabel(ms, spanDays) {
  if (spanDays > 3 * 365) return formatDate(ms, "year");
  if (spanDays > 60) return formatDate(ms, "month");
  if (spanDays > 2) return formatDate(ms, "day");
  return formatDate(ms, "minute");
}

const STEPS = [
  [DAY, "day"], [2 * DAY, "day"], [7 * DAY, "day"], [1, "month"], [3, "month"], [6, "month"],
  [1, "year"], [2, "year"], [5, "year"], [10, "year"], [20, "year"], [50, "year"],
];

/** Tick positions at round UTC dates (days, months or years), at most `max` of them. */
export function timeTicks(min, max, max_ = 8) {
  for (const [step, unit] of STEPS) {
    const ticks = [];
    const start = new Date(min);
    if (unit === "day") {
      let t = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
      if (t < min) t += DAY;
      for (; t <= max; t += step) ticks.push(t);
    } else if (unit === "month") {
      let y = start.getUTCFullYear();
      let m = Math.ceil((start.getUTCMonth() + (start.getUTCDate() > 1 ? 1 : 0)) / step) * step;
      for (let t = Date.UTC(y, m, 1); t <= max; m += step, t = Date.UTC(y, m, 1)) if (t >= min) ticks.push(t);
    } else {
      let y = Math.ceil((start.getUTCFullYear() + (min > Date.UTC(start.getUTCFullYear(), 0, 1) ? 1 : 0)) / step) * step;
      for (; Date.UTC(y, 0, 1) <= max; y += step) ticks.push(Date.UTC(y, 0, 1));
    }
    if (ticks.length <= max_ && ticks.length >= 2) return ticks;
    if (ticks.length < 2 && unit === "day" && step === DAY) return [min, max];
  }
  return [min, max];
}

/** Safe file name part from a label. */
export function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80) || "series";
}

/**
 * A chart panel: heading, canvas, Save PNG / Save CSV / Clear buttons and a summary.
 * series: [{label, times: [ISO], values: [number|null]}]; all in one unit.
 */
export function chartPanel({ heading = t("chart.timeSeries"), filename = "series", onClear, emptyText } = {}) {
  const title = el("h2", { class: "chart-title" }, heading);
  const canvas = el("canvas", { role: "img", "aria-label": heading });
  const summary = el("p", { class: "chart-summary" });
  const empty = el("p", { class: "chart-empty" }, emptyText || t("chart.empty"));
  const status = statusLine();
  const pngButton = el("button", { type: "button", disabled: true }, t("chart.savePng"));
  const csvButton = el("button", { type: "button", disabled: true }, t("chart.saveCsv"));
  const clearButton = el("button", { type: "button", disabled: true }, t("chart.clear"));
  const node = el("section", { class: "chart-panel", "aria-label": heading },
    el("div", { class: "chart-head" }, title,
      el("div", { class: "buttons" }, pngButton, csvButton, onClear ? clearButton : null)),
    empty, el("div", { class: "chart-box" }, canvas), summary, status);
  let chart = null;
  let current = { series: [], units: "", title: heading };

  const draw = () => {
    const { series, units } = current;
    const all = series.flatMap((s) => s.times.map((t) => Date.parse(t)));
    const tmin = all.length ? Math.min(...all) : 0;
    const tmax = all.length ? Math.max(...all) : DAY;
    const spanDays = (tmax - tmin) / DAY;
    const pad = tmax > tmin ? (tmax - tmin) * 0.01 : DAY;
    const datasets = series.map((s, i) => ({
      label: s.label,
      data: s.times.map((t, j) => ({ x: Date.parse(t), y: s.values[j] === null ? NaN : s.values[j] })),
      borderColor: COLOURS[i % COLOURS.length],
      backgroundColor: COLOURS[i % COLOURS.length],
      borderWidth: 1.6,
      pointRadius: s.times.length <= 80 ? 2.5 : 0,
      spanGaps: false,
      ...(s.style || {}), // per-series look, e.g. a dashed trend line or points without a line
    }));
    const config = {
      type: "line",
      data: { datasets },
      plugins: [whiteBackground],
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: {
            type: "linear",
            min: tmin - pad,
            max: tmax + pad,
            title: { display: true, text: t("chart.timeAxis") },
            afterBuildTicks: (axis) => {
              axis.ticks = timeTicks(tmin - pad, tmax + pad).map((value) => ({ value }));
            },
            ticks: { autoSkip: false, maxRotation: 0, callback: (v) => tickLabel(v, spanDays) },
          },
          y: { title: { display: Boolean(units), text: units }, ticks: { callback: (v) => fmt(v) } },
        },
        plugins: {
          title: { display: true, text: current.title, font: { size: 14 } },
          legend: {
            display: true,
            position: "bottom",
            // series that set a point style (a dashed trend line, points) show it in the legend
            labels: { usePointStyle: series.some((s) => s.style && s.style.pointStyle) },
          },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? tickLabel(items[0].parsed.x, 1) : ""),
              label: (item) => `${item.dataset.label}: ${fmt(item.parsed.y)} ${units}`,
            },
          },
        },
      },
    };
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, config);
    canvas.setAttribute("aria-label", t("chart.label", { title: current.title, count: series.length, units: units || t("units.none") }));
    const parts = series.map((s) => {
      const finite = s.values.filter((v) => v !== null && Number.isFinite(v));
      if (!finite.length) return `${s.label}: ${t("value.noData")}`;
      return t("chart.summary", {
        label: s.label, steps: s.times.length, start: formatDate(s.times[0]), end: formatDate(s.times[s.times.length - 1]),
        min: fmt(Math.min(...finite)), max: fmt(Math.max(...finite)), units,
      });
    });
    summary.textContent = parts.join(" · ");
    node.dataset.series = String(series.length);
    empty.hidden = series.length > 0;
    canvas.parentNode.hidden = series.length === 0;
    pngButton.disabled = csvButton.disabled = clearButton.disabled = series.length === 0;
  };

  pngButton.addEventListener("click", () => {
    canvas.toBlob((blob) => {
      if (blob) saveBlob(blob, `${filename}.png`);
      status.textContent = t("chart.savedPng");
    }, "image/png");
  });
  csvButton.addEventListener("click", () => {
    saveBlob(new Blob([toCSV(current.series, current.units)], { type: "text/csv" }), `${filename}.csv`);
    status.textContent = t("chart.savedCsv");
  });
  clearButton.addEventListener("click", () => {
    current.series = [];
    draw();
    if (onClear) onClear();
  });

  return {
    node,
    /** Show these series (replacing any shown). */
    show(series, { units = "", title } = {}) {
      current = { series: series.slice(), units, title: title || current.title };
      draw();
    },
    /** Add one series, keeping at most `max`. */
    add(series, { units = "", title, max = 6 } = {}) {
      const kept = current.units === units ? current.series : [];
      current = { series: [...kept, series].slice(-max), units, title: title || current.title };
      draw();
    },
    setStatus(text) {
      status.textContent = text;
    },
    get series() {
      return current.series;
    },
    destroy() {
      if (chart) chart.destroy();
    },
  };
}

/** CSV of series on the union of their time steps: time, one column per series. */
export function toCSV(series, units) {
  const times = [...new Set(series.flatMap((s) => s.times))].sort();
  const lookup = series.map((s) => new Map(s.times.map((t, i) => [t, s.values[i]])));
  const quote = (text) => `"${String(text).replaceAll('"', '""')}"`;
  const header = ["time", ...series.map((s) => quote(`${s.label}${units ? ` [${units}]` : ""}`))];
  const rows = times.map((t) => [t, ...lookup.map((m) => {
    const v = m.get(t);
    return v === undefined || v === null || Number.isNaN(v) ? "" : String(v);
  })].join(","));
  return `${header.join(",")}\n${rows.join("\n")}\n`;
}
