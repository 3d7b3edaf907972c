// Gridless series (sea-ice extent, global mean sea level, ice-sheet mass, snow cover): a chart
// straight from the hub's CSV download, one line per region when there are several.

import { el, field, select } from "./dom.js";
import { collection, getText } from "./api.js";
import { dataVariables, isGridded, variableInfo, variableLabel, viewRoute } from "./collections.js";
import { chartPanel, slug } from "./charts.js";
import { updateQuery } from "./app.js";
import { trendTool } from "./seriestrend.js";
import { t } from "./i18n.js";

/** Split one CSV line (quotes allowed). */
export function splitCSV(line) {
  const out = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Parse the hub's tidy CSV: a time column, optional label columns (region...), and value
 * columns named "name [units]". Returns {columns: {name: units}, groups: Map(label -> {times,
 * values: {name: [..]}})}.
 */
export function parseSeriesCSV(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = splitCSV(lines[0]);
  const columns = {};
  const valueIdx = [];
  const labelIdx = [];
  header.forEach((h, i) => {
    const m = h.match(/^(.*?)\s*\[(.*)\]$/);
    if (h === "time") return;
    if (m) {
      columns[m[1]] = m[2];
      valueIdx.push([i, m[1]]);
    } else labelIdx.push(i);
  });
  const timeIdx = header.indexOf("time");
  const groups = new Map();
  for (const line of lines.slice(1)) {
    const cells = splitCSV(line);
    const label = labelIdx.map((i) => cells[i]).join(" / ");
    if (!groups.has(label)) groups.set(label, { times: [], values: Object.fromEntries(valueIdx.map(([, n]) => [n, []])) });
    const g = groups.get(label);
    g.times.push(cells[timeIdx]);
    for (const [i, name] of valueIdx) g.values[name].push(cells[i] === "" ? null : Number(cells[i]));
  }
  return { columns, groups };
}

export async function mountSeries(main, { args, params }) {
  const cid = args[0];
  const doc = await collection(cid);
  if (isGridded(doc)) {
    window.location.replace(viewRoute(doc));
    return {};
  }
  document.title = t("series.docTitleOf", { title: doc.title || cid });
  const variables = dataVariables(doc);
  const variable = variables.includes(params.get("var")) ? params.get("var") : variables[0];
  const variableSelect = select(variables.map((v) => ({ value: v, label: `${v} (${variableLabel(doc, v)})` })), variable);
  const chart = chartPanel({ heading: t("chart.timeSeries"), filename: slug(`${cid}-${variable}`) });
  let shown = null; // what the chart shows: {variable, series, units, title, description}
  const trend = trendTool({ cid, chart, current: () => shown });
  main.append(el("section", { class: "series-view" },
    el("div", { class: "view-head" }, el("h1", {}, doc.title || cid),
      el("p", { class: "links" },
        el("a", { href: `#/dataset/${encodeURIComponent(cid)}` }, t("action.details")), " · ",
        el("a", { href: `#/download/${encodeURIComponent(cid)}` }, t("action.download")))),
    el("p", { class: "intro" }, doc.description || ""),
    el("form", { class: "panel inline-form", onsubmit: (e) => e.preventDefault() }, field(t("field.variable"), variableSelect).wrap),
    chart.node,
    trend.node));

  async function draw(name) {
    chart.setStatus(t("series.loading"));
    const text = await getText(`/download/${encodeURIComponent(cid)}`, { format: "csv", variables: name });
    const { columns, groups } = parseSeriesCSV(text);
    const info = variableInfo(doc, name);
    const series = [...groups.entries()].map(([label, g]) => ({
      label: label ? label.replaceAll("_", " ") : name,
      times: g.times,
      values: g.values[name],
    }));
    const units = columns[name] || info.unit || "";
    const described = variableLabel(doc, name) || info.description || name;
    shown = { variable: name, series, units, title: `${described}, ${doc.title || cid}`, description: described };
    chart.show(series, { units, title: shown.title });
    trend.reset();
    chart.setStatus(t("series.loaded", { count: series.length }));
    updateQuery({ var: name });
  }
  variableSelect.addEventListener("change", () => draw(variableSelect.value));
  await draw(variable);
  return { destroy: () => chart.destroy() };
}
