// Leaflet maps over a local Natural Earth basemap: land, coastlines and borders drawn as vector
// layers from the world atlas TopoJSON served by the hub; a box-drawing tool; a legend.

import { el, fmt } from "./dom.js";
import { BASE } from "./api.js";
import { t } from "./i18n.js";

const L = window.L;
const ATLAS = {
  "50m": `${BASE}/portal/static/vendor/world-atlas/countries-50m.json`,
  "110m": `${BASE}/portal/static/vendor/world-atlas/countries-110m.json`,
};
const topologies = new Map(); // scale -> TopoJSON
const atlases = new Map(); // scale and copy -> GeoJSON layers

/**
 * Make a line's longitudes continuous across the antimeridian (179 -> 181 instead of -179).
 * Returns {coords, net}: net is the shift at the end (non-zero for rings around a pole).
 */
export function unwrap(coords) {
  const out = [coords[0].slice()];
  let offset = 0;
  for (let i = 1; i < coords.length; i += 1) {
    const step = coords[i][0] - coords[i - 1][0];
    if (step > 180) offset -= 360;
    else if (step < -180) offset += 360;
    out.push([coords[i][0] + offset, coords[i][1]]);
  }
  return { coords: out, net: offset };
}

const shift = (coords, by) => coords.map(([x, y]) => [x + by, y]);

/** Copies of a part that cover both map edges when it runs past longitude ±180. */
function withCopies(parts, copy) {
  const lons = parts.flat().map((c) => c[0]);
  const copies = [parts];
  if (!copy) return copies;
  if (Math.max(...lons) > 180) copies.push(parts.map((c) => shift(c, -360)));
  if (Math.min(...lons) < -180) copies.push(parts.map((c) => shift(c, 360)));
  return copies;
}

/**
 * Natural Earth rings and lines jump from +180 to -180 where they cross the antimeridian,
 * which a flat map would draw as a line across the world. Make them continuous (a ring
 * around a pole is closed through the pole) and add a copy on the other side of the map.
 */
export function fixAntimeridian(geometry, copy = true) {
  if (geometry.type === "MultiLineString" || geometry.type === "LineString") {
    const lines = geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates;
    const fixed = lines.flatMap((line) => withCopies([unwrap(line).coords], copy).map((c) => c[0]));
    return { type: "MultiLineString", coordinates: fixed };
  }
  if (geometry.type === "MultiPolygon" || geometry.type === "Polygon") {
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    const fixed = polygons.flatMap((rings) => withCopies(rings.map((ring) => {
      const { coords, net } = unwrap(ring);
      if (net === 0) return coords;
      const pole = coords.reduce((sum, c) => sum + c[1], 0) < 0 ? -90 : 90;
      return [...coords, [coords[coords.length - 1][0], pole], [coords[0][0], pole], coords[0]];
    }), copy));
    return { type: "MultiPolygon", coordinates: fixed };
  }
  return geometry;
}

const fixFeature = (f, copy) => (f.type === "FeatureCollection"
  ? { ...f, features: f.features.map((g) => fixFeature(g, copy)) }
  : f.type === "Feature" ? { ...f, geometry: fixAntimeridian(f.geometry, copy) } : fixAntimeridian(f, copy));

/**
 * Load (once) the land polygons, coastlines and country borders at a Natural Earth scale.
 * `copy`: repeat what crosses the antimeridian on the other edge (flat maps only).
 */
export function loadAtlas(scale = "50m", copy = true) {
  const key = `${scale}:${copy}`;
  if (!atlases.has(key)) {
    if (!topologies.has(scale)) {
      topologies.set(scale, fetch(ATLAS[scale]).then((r) => {
        if (!r.ok) throw new Error(`basemap ${scale}: ${r.status}`);
        return r.json();
      }));
    }
    const topology = topologies.get(scale);
    const promise = topology
      .then((topo) => ({
        land: fixFeature(window.topojson.feature(topo, topo.objects.land), copy),
        coast: fixFeature(window.topojson.mesh(topo, topo.objects.land), copy),
        borders: fixFeature(window.topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b), copy),
      }));
    atlases.set(key, promise);
  }
  return atlases.get(key);
}

/**
 * Create a Leaflet map with the basemap: land below the data layers, lines above them.
 * options: {scale: "50m"|"110m", center, zoom, crs, coordsToLatLng, label}
 */
export function createMap(container, options = {}) {
  const map = L.map(container, {
    center: options.center || [15, 0],
    zoom: options.zoom ?? 1,
    minZoom: options.minZoom ?? 1,
    maxZoom: options.maxZoom ?? 9,
    zoomSnap: 0.5,
    crs: options.crs || L.CRS.EPSG3857,
    worldCopyJump: false,
    maxBounds: options.maxBounds === undefined ? [[-89.9, -270], [89.9, 270]] : options.maxBounds,
    maxBoundsViscosity: 0.8,
    attributionControl: true,
    zoomControl: false,
    keyboard: true,
  });
  L.control.zoom({ zoomInTitle: t("map.zoomIn"), zoomOutTitle: t("map.zoomOut") }).addTo(map);
  container.scMap = map; // for scripts driving the page (tests): the Leaflet map of this node
  container.scLatLng = options.coordsToLatLng
    ? (lon, lat) => options.coordsToLatLng([lon, lat])
    : (lon, lat) => L.latLng(lat, lon);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(t("map.basemap"));
  container.setAttribute("role", "application");
  container.setAttribute("aria-label", options.label || t("nav.map"));
  const panes = { land: map.createPane("sc-land"), lines: map.createPane("sc-lines") };
  panes.land.style.zIndex = 150;
  panes.lines.style.zIndex = 350;
  panes.lines.style.pointerEvents = "none";
  panes.land.style.pointerEvents = "none";
  const geo = (data, pane, style) => L.geoJSON(data, {
    pane,
    renderer: L.canvas({ pane, padding: 0.3 }),
    style,
    interactive: false,
    coordsToLatLng: options.coordsToLatLng,
  });
  let removed = false;
  map.on("unload", () => {
    removed = true;
  });
  map.basemapReady = loadAtlas(options.scale || "50m", !options.crs).then((atlas) => {
    if (removed) return map; // the view was left before the basemap arrived
    geo(atlas.land, "sc-land", { stroke: false, fillColor: "#ebe7de", fillOpacity: 1 }).addTo(map);
    geo(atlas.borders, "sc-lines", { color: "#8a8f96", weight: 0.6, opacity: 0.9 }).addTo(map);
    geo(atlas.coast, "sc-lines", { color: "#34404c", weight: 0.9, opacity: 1 }).addTo(map);
    container.dataset.basemap = "ready";
    return map;
  });
  return map;
}

/** Clamp a Leaflet bounds to a lon/lat bbox [w, s, e, n] (rounded to 0.01 degrees). */
export function boundsToBbox(bounds) {
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const round = (v) => Math.round(v * 100) / 100;
  return [
    round(clamp(bounds.getWest(), -180, 180)),
    round(clamp(bounds.getSouth(), -90, 90)),
    round(clamp(bounds.getEast(), -180, 180)),
    round(clamp(bounds.getNorth(), -90, 90)),
  ];
}

const BOX_STYLE = { color: "#111111", weight: 2.5, fillColor: "#ffffff", fillOpacity: 0.15, dashArray: "6 4" };

/**
 * A tool to draw a box on a map by dragging, while its button is pressed.
 * Returns {button, setBox(bbox|null), getBox(), destroy(), justDrew()}; onBox(bbox) is called
 * when a box is drawn. toBox(latLngBounds) may convert bounds (e.g. for projected maps).
 */
export function boxTool(map, { onBox, label = t("viewer.drawBox"), toBox = boundsToBbox, toBounds } = {}) {
  let active = false;
  let start = null;
  let rect = null;
  let drewAt = 0;
  const button = el("button", { type: "button", class: "tool", "aria-pressed": "false" }, label);
  const setActive = (on) => {
    active = on;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    map.getContainer().classList.toggle("drawing", on);
    if (on) map.dragging.disable();
    else map.dragging.enable();
  };
  button.addEventListener("click", () => setActive(!active));
  const down = (e) => {
    if (!active) return;
    start = e.latlng;
    if (rect) rect.remove();
    rect = L.rectangle(L.latLngBounds(start, start), BOX_STYLE).addTo(map);
  };
  const move = (e) => {
    if (active && start && rect) rect.setBounds(L.latLngBounds(start, e.latlng));
  };
  const up = (e) => {
    if (!active || !start) return;
    const bounds = L.latLngBounds(start, e.latlng);
    start = null;
    drewAt = Date.now();
    setActive(false);
    const box = toBox(bounds);
    if (box[0] === box[2] || box[1] === box[3]) {
      rect.remove();
      rect = null;
      return;
    }
    if (onBox) onBox(box);
  };
  map.on("mousedown", down);
  map.on("mousemove", move);
  map.on("mouseup", up);
  return {
    button,
    justDrew: () => Date.now() - drewAt < 400,
    getBox: () => (rect ? toBox(rect.getBounds()) : null),
    setBox(box) {
      if (rect) rect.remove();
      rect = null;
      if (!box) return;
      const bounds = toBounds ? toBounds(box) : L.latLngBounds([box[1], box[0]], [box[3], box[2]]);
      rect = L.rectangle(bounds, BOX_STYLE).addTo(map);
    },
    destroy() {
      map.off("mousedown", down);
      map.off("mousemove", move);
      map.off("mouseup", up);
    },
  };
}

/**
 * A legend: colour bar (CSS gradient from the hub's legend.json stops) with min, max and units,
 * in the legend's display units when it has them (ozone in DU).
 * Returns {node, update(legendJson, title)}.
 */
export function legend() {
  const bar = el("div", { class: "legend-bar", role: "img" });
  const low = el("span", { class: "legend-min" });
  const high = el("span", { class: "legend-max" });
  const units = el("span", { class: "legend-units" });
  const title = el("p", { class: "legend-title" });
  const node = el("figure", { class: "legend" }, title, bar,
    el("figcaption", { class: "legend-labels" }, low, units, high));
  return {
    node,
    update(doc, heading) {
      const stops = doc.stops || [];
      const gradient = stops.map((s, i) => `${s.color} ${(100 * i) / Math.max(1, stops.length - 1)}%`);
      bar.style.background = `linear-gradient(to right, ${gradient.join(", ")})`;
      const shown = doc.display || { units: doc.units, range: doc.range };
      const [vmin, vmax] = shown.range;
      low.textContent = fmt(vmin);
      high.textContent = fmt(vmax);
      units.textContent = shown.units && shown.units !== "1" ? shown.units : shown.units === "1" ? `(${t("units.fraction")})` : "";
      title.textContent = heading || doc.description || "";
      bar.setAttribute("aria-label",
        t("legend.scale", { colormap: doc.colormap, min: fmt(vmin), max: fmt(vmax), units: shown.units || "" }));
    },
  };
}

/** Keep maps showing the same place (for side-by-side comparison). */
export function syncMaps(a, b) {
  let busy = false;
  const follow = (src, dst) => () => {
    if (busy) return;
    busy = true;
    dst.setView(src.getCenter(), src.getZoom(), { animate: false });
    busy = false;
  };
  a.on("move", follow(a, b));
  b.on("move", follow(b, a));
}
