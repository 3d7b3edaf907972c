// Point and area time series from the hub: EDR position queries and the area-mean process.

import { apiPaths, getJSON, hasPath, postJSON } from "./api.js";
import { formatFixed, t } from "./i18n.js";

/** Format a lon/lat position for people: 0.13°S 140.13°W (0,13°S 140,13°O; 南纬0.13° 西经140.13°). */
export function lonLatLabel(lon, lat) {
  return t("geo.position", {
    lat: formatFixed(Math.abs(lat), 2), ns: t(lat >= 0 ? "geo.north" : "geo.south"),
    lon: formatFixed(Math.abs(lon), 2), ew: t(lon >= 0 ? "geo.east" : "geo.west"),
  });
}

/** Wrap a longitude into [-180, 180). */
export function wrapLon(lon) {
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

/**
 * The time series (or single value) of one variable at the cell nearest (lon, lat).
 * Returns {times, values, units, lon, lat} (times empty for static collections).
 */
export async function pointSeries(cid, variable, lon, lat, { datetime, z, signal } = {}) {
  const cov = await getJSON(`/edr/collections/${encodeURIComponent(cid)}/position`, {
    coords: `POINT(${lon.toFixed(4)} ${lat.toFixed(4)})`,
    "parameter-name": variable,
    datetime,
    z: z === undefined || z === null ? undefined : String(z),
    f: "CoverageJSON",
  }, { signal });
  const axes = cov.domain.axes;
  const range = cov.ranges[variable];
  const param = cov.parameters[variable] || {};
  const unit = param.unit || {};
  const symbol = typeof unit.symbol === "string" ? unit.symbol : (unit.symbol && unit.symbol.value) || (unit.label && unit.label.en) || "";
  return {
    times: axes.t ? axes.t.values.map(String) : [],
    values: range.values.map((v) => (v === null ? null : Number(v))),
    units: symbol,
    lon: axes.x ? axes.x.values[0] : lon,
    lat: axes.y ? axes.y.values[0] : lat,
  };
}

/**
 * The area-weighted mean series over a bbox, a region id or a GeoJSON geometry
 * (OGC API Processes, synchronous execution of process "area-mean").
 */
export async function areaSeries(cid, variable, { bbox, region, geometry, datetime, z, signal } = {}) {
  const inputs = { collection: cid, variable };
  if (z !== undefined && z !== null) inputs.z = z;
  if (bbox) inputs.bbox = bbox;
  if (region) inputs.region = region;
  if (geometry) inputs.geometry = geometry;
  if (datetime) inputs.datetime = datetime;
  const answer = await postJSON("/processes/area-mean/execution", { inputs }, { signal });
  const result = answer.series || answer; // the series, bare or wrapped in its output name
  return {
    times: (result.time || []).map(String),
    values: (result.values || []).map((v) => (v === null ? null : Number(v))),
    units: result.units || "",
    cells: result.n_cells,
    region: result.region,
  };
}

/** The regions the hub knows (AR6 and countries), or [] when the hub has no /regions. */
export async function listRegions() {
  if (!(await hasPath("/regions"))) return [];
  try {
    const doc = await getJSON("/regions");
    return doc.regions || [];
  } catch {
    return [];
  }
}

/** Whether the hub runs the area-mean process (OGC API Processes). */
export async function canAreaMean() {
  const paths = await apiPaths().catch(() => new Set());
  return [...paths].some((p) => /^\/processes\/(area-mean|\{[^}]+\})\/execution$/.test(p));
}
