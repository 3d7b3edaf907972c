// What the portal reads from STAC Collection documents (datacube extension + hub fields).

import { formatDate, formatNumber, language, t } from "./i18n.js";

const SPATIAL = [["lat", "lon"], ["y", "x"]];
const STEPS = new Set(["P1D", "P1M", "P1Y", "P7D", "P8D", "P10D"]);

/** Whether a collection has a spatial grid (a map), from cube:dimensions. */
export function isGridded(doc) {
  const dims = Object.keys(doc["cube:dimensions"] || {});
  return SPATIAL.some(([a, b]) => dims.includes(a) && dims.includes(b));
}

/** Whether a collection's grid is projected (x/y in metres, e.g. polar stereographic). */
export function isProjected(doc) {
  const dims = doc["cube:dimensions"] || {};
  return "x" in dims && "y" in dims;
}

/** Whether a collection has a time axis. */
export function hasTime(doc) {
  return "time" in (doc["cube:dimensions"] || {});
}

/** Names of the data variables, in the document's order. */
export function dataVariables(doc) {
  return Object.entries(doc["cube:variables"] || {})
    .filter(([, info]) => info.type === "data")
    .map(([name]) => name);
}

/** The cube:variables entry of a variable. */
export function variableInfo(doc, name) {
  return (doc["cube:variables"] || {})[name] || {};
}

/** Units of a variable for people ("1" means dimensionless). */
export function unitsLabel(units) {
  if (units === undefined || units === null || units === "") return "";
  return units === "1" ? t("units.fraction") : String(units);
}

/** A name in the current language from a {lang: name} record (English, then `fallback`). */
export function localName(names, fallback) {
  const record = names && typeof names === "object" ? names : {};
  return record[language()] || record.en || fallback;
}

/** What a variable is, in the current language where the hub gives it (else its description). */
export function variableLabel(doc, name) {
  const info = variableInfo(doc, name);
  return localName(info["sco:names"], info.description || name);
}

/**
 * How people read a variable's values: {units, scale} with shown = stored * scale. The hub
 * names display units where they differ from the stored CF units (ozone: mol m-2 shown in DU).
 */
export function displayOf(info) {
  const scale = Number(info["sco:display_scale"]);
  if (info["sco:display_units"] && Number.isFinite(scale)) return { units: info["sco:display_units"], scale };
  return { units: info.unit, scale: 1 };
}

/** Colour map and display range of a variable: {colormap, range: [min, max]}. */
export function variableStyle(doc, name) {
  const style = (doc["sco:colormaps"] || {})[name];
  if (style && style.colormap && style.range) return { colormap: style.colormap, range: style.range };
  return { colormap: "viridis", range: [0, 1] };
}

/**
 * The name of an ECV for people, in the current language when a collection of it gives its
 * names (sco:ecv_names), else from its id (sea_surface_temperature -> Sea surface temperature).
 */
export function ecvLabel(id, doc = null) {
  if (!id) return "";
  const text = String(id).replaceAll("_", " ");
  return localName(doc && doc["sco:ecv_names"], text.charAt(0).toUpperCase() + text.slice(1));
}

/** Agencies of a collection. */
export function agencies(doc) {
  return doc["sco:agencies"] || (doc.providers || []).map((p) => p.name);
}

/** Missions (platforms) of a collection. */
export function missions(doc) {
  return ((doc.summaries || {}).platform || []).map(String);
}

/** The [start, end] ISO strings of the temporal extent (nulls for static collections). */
export function timeRange(doc) {
  const interval = (((doc.extent || {}).temporal || {}).interval || [[null, null]])[0] || [];
  return [interval[0] || null, interval[1] || null];
}

/** The time range for people. */
export function timeRangeLabel(doc) {
  if (!hasTime(doc)) return t("time.static");
  const [start, end] = timeRange(doc);
  return t("time.range", { start: start ? formatDate(start) : "..", end: end ? formatDate(end) : ".." });
}

/** Spatial and temporal resolution for people: "0.25° · daily". */
export function resolutionLabel(doc) {
  const dims = doc["cube:dimensions"] || {};
  const parts = [];
  if (dims.lon && dims.lon.step) parts.push(`${formatNumber(dims.lon.step, 3)}°`);
  else if (dims.x && dims.x.step) {
    const metres = Number(dims.x.step);
    parts.push(metres >= 1000 ? `${formatNumber(metres / 1000, 3)} km` : `${formatNumber(Math.round(metres))} m`);
  } else parts.push(t("resolution.noGrid"));
  if (dims.time) {
    const step = dims.time.step;
    parts.push(STEPS.has(step) ? t(`step.${step}`) : step || t("resolution.irregular"));
  }
  return parts.join(" · ");
}

/** The lon/lat bounding box [w, s, e, n] of a collection. */
export function bbox(doc) {
  return ((((doc.extent || {}).spatial || {}).bbox || [[-180, -90, 180, 90]])[0]).slice(0, 4);
}

/** The EPSG code of a projected grid (3411 Arctic, 3412 Antarctic), or null. */
export function gridEpsg(doc) {
  const dims = doc["cube:dimensions"] || {};
  return dims.x ? dims.x.reference_system || null : null;
}

/** The portal route that shows a collection best: a map, or a chart for series. */
export function viewRoute(doc) {
  const cid = encodeURIComponent(doc.id);
  return isGridded(doc) ? `#/map/${cid}` : `#/series/${cid}`;
}
