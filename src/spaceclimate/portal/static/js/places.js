// Places: a point's or a territory's dossier, match-ups with local data, indicators that travel.
//
// #/places lists the published territories and reads the dossier at a point; #/places/<id>
// shows one territory: its outline, every pooled record over it (the dossier), a match-up of
// a local series or in situ record with a pooled record (statistics, plots, CSV), and the
// indicators defined as data, run on this territory with one click.

import { el, clear, dataTable as table, statusLine } from "./dom.js";
import { allCollections, getJSON, postJSON, url } from "./api.js";
import { createMap } from "./mapkit.js";
import { chartPanel } from "./charts.js";
import { ecvLabel, isGridded, unitsLabel } from "./collections.js";
import { errorText, formatDate, formatInteger, formatNumber, t } from "./i18n.js";
import { updateQuery } from "./app.js";

function signed(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value > 0 ? "+" : ""}${formatNumber(value, digits)}`;
}

function trendText(trend) {
  if (!trend) return "–";
  const low = formatNumber(trend.ci_lower, 3);
  const high = formatNumber(trend.ci_upper, 3);
  return t("places.trendValue", { slope: signed(trend.slope), low, high, units: trend.units || "" });
}

function anomalyText(anomaly) {
  if (!anomaly) return "–";
  return t("places.anomalyValue", { value: signed(anomaly.value), date: formatDate(anomaly.time) });
}

/** The dossier as a table: one row a variable with data there. */
function dossierTable(body) {
  const rows = [];
  for (const entry of body.collections) {
    for (const variable of entry.variables) {
      rows.push([
        el("a", { href: `#/dataset/${encodeURIComponent(entry.id)}` }, entry.title || entry.id),
        ecvLabel(entry.ecv),
        `${variable.long_name || variable.name} (${unitsLabel(variable.units) || "–"})`,
        formatInteger(variable.record.valid_steps),
        anomalyText(variable.anomaly),
        trendText(variable.trend),
      ]);
    }
  }
  return table(
    t("places.dossierCaption", { count: body.with_data, considered: body.considered }),
    [t("places.record"), t("places.ecv"), t("places.variable"), t("places.steps"),
      t("places.latestAnomaly"), t("places.trend")],
    rows, { class: "dossier-table", "data-rows": String(rows.length) });
}

function reportLinks(path, query = {}) {
  return el("p", { class: "report-links" },
    el("a", { href: url(path, { ...query, f: "html" }), target: "_blank", rel: "noopener" }, t("places.reportHtml")),
    " · ",
    el("a", { href: url(path, { ...query, f: "pdf" }) }, t("places.reportPdf")));
}

// -- #/places ---------------------------------------------------------------------------------
export async function mountPlaces(main, { params }) {
  const status = statusLine();
  const list = el("ul", { class: "places-list" });
  const lon = el("input", { id: "dossier-lon", type: "number", step: "any", min: "-180", max: "180", value: params.get("lon") || "-30" });
  const lat = el("input", { id: "dossier-lat", type: "number", step: "any", min: "-90", max: "90", value: params.get("lat") || "45" });
  const result = el("div", { class: "dossier-result" });
  const point = el("form", { class: "dossier-form" },
    el("label", { for: "dossier-lon" }, t("places.lon")), lon,
    el("label", { for: "dossier-lat" }, t("places.lat")), lat,
    el("button", { type: "submit" }, t("places.readDossier")));
  let controller = null;
  const read = async () => {
    if (controller) controller.abort();
    controller = new AbortController();
    clear(result);
    status.textContent = t("places.reading");
    updateQuery({ lon: lon.value, lat: lat.value });
    try {
      const body = await getJSON("/dossier", { lon: lon.value, lat: lat.value }, { signal: controller.signal });
      status.textContent = "";
      result.append(dossierTable(body), reportLinks("/dossier", { lon: lon.value, lat: lat.value }));
    } catch (err) {
      if (err.name !== "AbortError") status.textContent = errorText(err);
    }
  };
  point.addEventListener("submit", (event) => {
    event.preventDefault();
    read();
  });
  main.append(el("section", { class: "panel places" },
    el("h1", {}, t("places.title")),
    el("p", { class: "muted" }, t("places.intro")),
    el("h2", {}, t("places.territories")), list,
    el("p", { class: "muted" }, t("places.makeTerritory")),
    el("h2", {}, t("places.pointDossier")), point, status, result));
  const found = await getJSON("/territories");
  if (!found.features.length) list.append(el("li", { class: "muted" }, t("places.none")));
  for (const feature of found.features) {
    const p = feature.properties;
    list.append(el("li", {},
      el("a", { href: `#/places/${encodeURIComponent(feature.id)}` }, p.name),
      " ", el("span", { class: "muted" }, t(`places.kind.${p.kind}`))));
  }
  list.dataset.count = String(found.features.length);
  if (params.get("lon") && params.get("lat")) read();
  return { destroy: () => controller && controller.abort() };
}

// -- #/places/<id> ----------------------------------------------------------------------------
function outlineMap(feature) {
  const box = el("div", { class: "place-map", id: "place-map" });
  const map = createMap(box, { label: feature.properties.name });
  const layer = L.geoJSON(feature.geometry, { style: { color: "#c0392b", weight: 2, fillOpacity: 0.08 } }).addTo(map);
  requestAnimationFrame(() => {
    map.invalidateSize();
    map.fitBounds(layer.getBounds(), { maxZoom: 7, padding: [12, 12] });
  });
  return { box, map };
}

function statisticsTable(match) {
  const s = match.statistics;
  const units = unitsLabel(s.units) || "";
  const rows = [
    [t("places.stat.n"), formatInteger(s.n)],
    [t("places.stat.bias"), `${signed(s.bias)} ${units}`],
    [t("places.stat.rmsd"), `${formatNumber(s.rmsd, 3)} ${units}`],
    [t("places.stat.r"), formatNumber(s.correlation, 3)],
    [t("places.stat.slope"), formatNumber(s.slope, 3)],
    [t("places.stat.trendLocal"), `${signed(s.trend_local_per_year)} ${units}`],
    [t("places.stat.trendProduct"), `${signed(s.trend_product_per_year)} ${units}`],
  ];
  return table(t("places.matchCaption", { local: match.local.label, product: match.product.label }),
    [t("places.statistic"), t("places.value")], rows, { class: "match-table" });
}

function matchupSection(territory, collections, datasets) {
  const local = el("select", { id: "match-local" },
    datasets.map((d) => el("option", { value: d.id }, `${d.name} (${t("places.localData")})`)),
    collections.filter((c) => (c["sco:kind"] || "satellite") !== "satellite")
      .map((c) => el("option", { value: `collection:${c.id}` }, c.title || c.id)));
  const product = el("select", { id: "match-product" },
    collections.filter((c) => isGridded(c) && c["sco:kind"] !== "in-situ" && !c["sco:derived"])
      .map((c) => el("option", { value: c.id }, c.title || c.id)));
  const method = el("select", { id: "match-method" },
    ["area", "nearest", "radius"].map((m) => el("option", { value: m }, t(`places.method.${m}`))));
  const windowInput = el("input", { id: "match-window", type: "text", placeholder: "P16D", size: "6" });
  const status = statusLine();
  const out = el("div", { class: "match-result" });
  const form = el("form", { class: "match-form" },
    el("label", { for: "match-local" }, t("places.local")), local,
    el("label", { for: "match-product" }, t("places.product")), product,
    el("label", { for: "match-method" }, t("places.method")), method,
    el("label", { for: "match-window" }, t("places.window")), windowInput,
    el("button", { type: "submit" }, t("places.match")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(out);
    status.textContent = t("places.matching");
    const query = { local: local.value, collection: product.value, method: method.value, window: windowInput.value };
    const path = `/territories/${encodeURIComponent(territory)}/matchups`;
    try {
      const body = await getJSON(path, query);
      const match = body.matchups[0];
      status.textContent = match.statistics.n ? "" : t("places.noPairs");
      out.dataset.pairs = String(match.statistics.n);
      out.append(statisticsTable(match));
      if (match.notes.length) out.append(el("ul", { class: "muted" }, match.notes.map((n) => el("li", {}, n))));
      if (match.statistics.n) {
        // one plot after the other: the hub runs one heavy request per client at a time
        const scatter = el("img", { alt: t("places.scatterAlt"), class: "match-plot" });
        const series = el("img", { alt: t("places.seriesAlt"), class: "match-plot" });
        const plots = el("div", { class: "match-plots" }, scatter, series);
        const done = () => {
          plots.dataset.loaded = "true";
        };
        scatter.addEventListener("load", () => {
          series.src = url(path, { ...query, f: "png", plot: "series" });
        }, { once: true });
        series.addEventListener("load", done, { once: true });
        series.addEventListener("error", done, { once: true });
        scatter.addEventListener("error", done, { once: true });
        scatter.src = url(path, { ...query, f: "png", plot: "scatter" });
        out.append(plots);
      }
      out.append(el("p", {}, el("a", { href: url(path, { ...query, f: "csv" }), download: "matchup.csv" }, t("places.pairsCsv"))));
    } catch (err) {
      status.textContent = errorText(err);
    }
  });
  return el("section", { class: "matchups" }, el("h2", {}, t("places.matchups")),
    el("p", { class: "muted" }, t("places.matchIntro")), form, status, out);
}

function indicatorSection(territory, indicators) {
  const choice = el("select", { id: "indicator-choice" },
    indicators.map((i) => el("option", { value: i.id }, `${i.title} (${i.id} ${i.version})`)));
  const status = statusLine();
  const chart = chartPanel({ heading: t("places.indicatorSeries"), filename: "indicator" });
  chart.node.hidden = true;
  const out = el("div", { class: "indicator-result" });
  const form = el("form", { class: "indicator-form" },
    el("label", { for: "indicator-choice" }, t("places.indicator")), choice,
    el("button", { type: "submit" }, t("places.run")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(out);
    chart.node.hidden = true;
    status.textContent = t("places.running");
    try {
      const body = await postJSON(`/processes/${encodeURIComponent(choice.value)}/execution`,
        { inputs: { territory } });
      status.textContent = "";
      const provenance = (body.summary || body.series || {}).provenance || {};
      const read = (provenance.read || []).map((r) => `${r.collection} v${r.version}`).join(", ");
      if (body.summary) {
        const s = body.summary;
        out.append(el("p", { class: "indicator-value" },
          t("places.indicatorTrend", { slope: signed(s.slope), low: formatNumber(s.ci_lower, 3), high: formatNumber(s.ci_upper, 3), units: s.units, p: formatNumber(s.p_value, 2) })));
      } else if (body.series) {
        chart.node.hidden = false;
        chart.show([{ label: choice.selectedOptions[0].textContent, times: body.series.time, values: body.series.values }],
          { units: body.series.units, title: choice.selectedOptions[0].textContent });
      }
      out.dataset.indicator = choice.value;
      out.append(el("p", { class: "muted provenance" }, t("places.provenance", {
        id: provenance.indicator ? provenance.indicator.id : choice.value,
        version: provenance.indicator ? provenance.indicator.version : "?",
        read,
        area: provenance.area || "",
      })));
    } catch (err) {
      status.textContent = errorText(err);
    }
  });
  return el("section", { class: "indicators" }, el("h2", {}, t("places.indicators")),
    el("p", { class: "muted" }, t("places.indicatorIntro")), form, status, out, chart.node);
}

export async function mountPlace(main, { args }) {
  const [territory] = args;
  const path = `/territories/${encodeURIComponent(territory)}`;
  const feature = await getJSON(path);
  const [dossier, data, indicators, collections] = await Promise.all([
    getJSON(`${path}/dossier`),
    getJSON(`${path}/data`),
    getJSON("/indicators"),
    allCollections(),
  ]);
  const { box, map } = outlineMap(feature);
  const p = feature.properties;
  main.append(el("section", { class: "panel place" },
    el("p", {}, el("a", { href: "#/places" }, t("places.back"))),
    el("h1", {}, p.name),
    el("p", { class: "muted" }, t(`places.kind.${p.kind}`), p.description ? ` · ${p.description}` : ""),
    box,
    el("h2", {}, t("places.dossier")),
    dossierTable(dossier),
    reportLinks(`${path}/dossier`),
    matchupSection(territory, collections, data.datasets),
    indicatorSection(territory, indicators.indicators)));
  return { destroy: () => map.remove() };
}
