// The download builder: box, time range, variables and format, with the size estimated
// before anything is requested, and what a 413 means when a request is too large.

import { el, field, select, statusLine, clear, humanBytes, newId } from "./dom.js";
import { allCollections, collection, getJSON, url } from "./api.js";
import { dataVariables, hasTime, isGridded, timeRange, unitsLabel, variableInfo, variableLabel } from "./collections.js";
import { boxTool, createMap } from "./mapkit.js";
import { updateQuery } from "./app.js";
import { errorText, formatDate, t } from "./i18n.js";

const FORMATS = [
  { value: "netcdf", label: "NetCDF", ext: "nc" },
  { value: "csv", label: "CSV", ext: "csv" },
  { value: "geotiff", label: "GeoTIFF", ext: "tif" },
];

export async function mountDownloadChooser(main) {
  document.title = t("download.docTitle");
  const docs = await allCollections();
  main.append(el("section", { class: "panel" },
    el("h1", {}, t("download.builder")),
    el("p", {}, t("download.choose")),
    el("ul", { class: "link-list" }, docs.map((d) =>
      el("li", {}, el("a", { href: `#/download/${encodeURIComponent(d.id)}` }, d.title || d.id), " ", el("span", { class: "muted" }, d.id))))));
  return {};
}

function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...a) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...a), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export async function mountDownload(main, { args, params }) {
  const cid = args[0];
  const [doc, docs] = await Promise.all([collection(cid), allCollections()]);
  document.title = t("download.docTitleOf", { title: doc.title || cid });
  const gridded = isGridded(doc);
  const timed = hasTime(doc);
  const [t0, t1] = timeRange(doc);
  const variables = dataVariables(doc);

  const collectionSelect = select(docs.map((d) => ({ value: d.id, label: d.title || d.id })), cid);
  const bboxInput = el("input", { type: "text", name: "bbox", value: params.get("bbox") || "", placeholder: t("download.boxPlaceholder"), inputmode: "decimal" });
  const start = el("input", { type: "date", name: "start", value: params.get("start") || (t0 ? t0.slice(0, 10) : ""), min: t0 ? t0.slice(0, 10) : null, max: t1 ? t1.slice(0, 10) : null });
  const end = el("input", { type: "date", name: "end", value: params.get("end") || (t1 ? t1.slice(0, 10) : ""), min: t0 ? t0.slice(0, 10) : null, max: t1 ? t1.slice(0, 10) : null });
  const chosenVars = params.get("variables") ? params.get("variables").split(",") : variables;
  const checks = variables.map((v) => el("input", { type: "checkbox", name: "variables", value: v, checked: chosenVars.includes(v), id: newId("var") }));
  const wantFormat = params.get("format") || "netcdf";
  const radios = FORMATS.map((f) => el("input", { type: "radio", name: "format", value: f.value, id: newId("fmt"), checked: f.value === wantFormat, disabled: f.value === "geotiff" && !gridded }));
  const estimate = el("div", { class: "estimate", role: "status", "aria-live": "polite" });
  const explain = el("div", { class: "explain" });
  const link = el("a", { class: "button primary download-link", "aria-disabled": "true" }, t("action.download"));
  const requestUrl = el("code", { class: "request-url" });
  // the dates chosen, in the page's language (a date field is drawn in the browser's own)
  const rangeWords = el("small", { class: "hint range-words", "aria-live": "polite" });
  const sayRange = () => {
    rangeWords.textContent = start.value && end.value
      ? t("download.rangeWords", { range: t("time.range", { start: formatDate(start.value), end: formatDate(end.value) }) }) : "";
  };
  const mapNode = el("div", { class: "mini-map", id: "download-map" });

  const form = el("form", { class: "download-form panel", "aria-label": t("download.request"), onsubmit: (e) => e.preventDefault() },
    field(t("field.collection"), collectionSelect).wrap,
    gridded ? el("fieldset", { class: "bbox-field" }, el("legend", {}, t("box.area")), mapNode,
      el("div", { class: "buttons tool-slot" }),
      field(t("box.label"), bboxInput, t("download.boxHint")).wrap) : null,
    timed ? el("fieldset", {}, el("legend", {}, t("download.timeRange")),
      el("div", { class: "row two" }, field(t("time.from"), start).wrap, field(t("time.to"), end).wrap), rangeWords) : null,
    el("fieldset", {}, el("legend", {}, t("dataset.variables")),
      checks.map((c, i) => el("div", { class: "check" }, c, el("label", { for: c.id }, `${variables[i]} — ${variableLabel(doc, variables[i])} (${unitsLabel(variableInfo(doc, variables[i]).unit)})`)))),
    el("fieldset", {}, el("legend", {}, t("download.format")),
      radios.map((r, i) => el("div", { class: "check" }, r, el("label", { for: r.id }, FORMATS[i].label))),
      el("small", { class: "hint" }, t("download.geotiffHint"))));

  main.append(el("section", { class: "download" },
    el("div", { class: "view-head" }, el("h1", {}, t("download.heading", { title: doc.title || cid })),
      el("p", { class: "links" }, el("a", { href: `#/dataset/${encodeURIComponent(cid)}` }, t("action.details")))),
    el("div", { class: "download-layout" }, form,
      el("aside", { class: "panel summary", "aria-label": t("download.summaryLabel") },
        el("h2", {}, t("download.before")), estimate, explain,
        el("p", {}, link), el("p", { class: "muted" }, t("download.requestUrl")), requestUrl))));

  let map = null;
  let tool = null;
  if (gridded) {
    map = createMap(mapNode, { scale: "110m", zoom: 0, minZoom: 0, maxBounds: [[-90, -180], [90, 180]], label: t("download.mapLabel") });
    map.fitBounds([[-60, -180], [75, 180]], { animate: false });
    tool = boxTool(map, {
      label: t("box.draw"),
      onBox(box) {
        bboxInput.value = box.join(",");
        check();
      },
    });
    form.querySelector(".tool-slot").append(tool.button,
      el("button", { type: "button", onclick: () => { bboxInput.value = ""; tool.setBox(null); check(); } }, t("box.clear")));
    if (bboxInput.value) tool.setBox(bboxInput.value.split(",").map(Number));
  }

  const query = () => {
    const fmt = radios.find((r) => r.checked).value;
    const vars = checks.filter((c) => c.checked).map((c) => c.value);
    const datetime = timed && (start.value || end.value)
      ? `${start.value ? `${start.value}T00:00:00Z` : ".."}/${end.value ? `${end.value}T23:59:59Z` : ".."}`
      : "";
    return { bbox: gridded ? bboxInput.value.trim() : "", datetime, variables: vars.join(","), format: fmt };
  };
  let controller = null;
  const disable = () => {
    link.removeAttribute("href");
    link.removeAttribute("download");
    link.setAttribute("aria-disabled", "true");
  };
  async function check() {
    const q = query();
    sayRange();
    updateQuery({ bbox: q.bbox, start: start.value, end: end.value, variables: q.variables, format: q.format });
    clear(explain);
    disable();
    if (!q.variables) {
      estimate.textContent = t("download.noVariable");
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    estimate.textContent = t("download.estimating");
    const fileUrl = url(`/download/${encodeURIComponent(cid)}`, q);
    requestUrl.textContent = `${window.location.origin}${fileUrl}`;
    try {
      const est = await getJSON(`/download/${encodeURIComponent(cid)}/estimate`, q, { signal: controller.signal });
      const shape = Object.entries(est.shape || {}).map(([k, v]) => `${k} ${v}`).join(" × ");
      estimate.dataset.bytes = String(est.estimate_bytes);
      estimate.dataset.fits = String(est.fits);
      estimate.textContent = t("download.estimate", { size: humanBytes(est.estimate_bytes), shape, limit: humanBytes(est.limit_bytes) });
      if (est.fits) {
        const ext = FORMATS.find((f) => f.value === q.format).ext;
        link.href = fileUrl;
        link.setAttribute("download", `${cid}.${ext}`);
        link.setAttribute("aria-disabled", "false");
        link.textContent = t("download.link", { format: FORMATS.find((f) => f.value === q.format).label, size: humanBytes(est.estimate_bytes) });
      } else {
        link.textContent = t("download.tooLargeLink");
        explain.append(el("p", { class: "error", role: "alert" },
          t("download.tooLarge", { size: humanBytes(est.estimate_bytes), limit: humanBytes(est.limit_bytes) }), " ",
          t("download.tooLarge413"), " ",
          t("download.tooLargeAdvice")));
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      estimate.textContent = "";
      link.textContent = t("action.download");
      explain.append(el("p", { class: "error", role: "alert" }, t("download.cannot", { message: errorText(err) })));
    }
  }
  const checkSoon = debounce(check, 200);
  collectionSelect.addEventListener("change", () => {
    window.location.hash = `#/download/${encodeURIComponent(collectionSelect.value)}`;
  });
  for (const input of [bboxInput, start, end, ...checks, ...radios]) input.addEventListener("change", checkSoon);
  bboxInput.addEventListener("change", () => {
    const parts = bboxInput.value.split(",").map(Number);
    if (tool) tool.setBox(parts.length === 4 && parts.every(Number.isFinite) ? parts : null);
  });
  await check();
  return {
    destroy() {
      checkSoon.cancel();
      if (controller) controller.abort();
      if (tool) tool.destroy();
      if (map) map.remove();
    },
  };
}
