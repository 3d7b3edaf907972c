// Maps in a polar stereographic projection, for the sea-ice grids: Web Mercator cannot show
// the poles. Map coordinates are the grid's own metres (LatLng(y, x)); the basemap is projected
// here, and the data is one image of the native grid from /portal/native.

import { getCached, getJSON } from "./api.js";
import { isProjected } from "./collections.js";
import { createMap } from "./mapkit.js";
import { t } from "./i18n.js";

const L = window.L;
const METRES_PER_PIXEL = 20000; // at zoom 0
const FAR_SIDE_LIMIT = -30; // degrees: the other hemisphere is clamped here (off the map)
const rad = (d) => (d * Math.PI) / 180;
const deg = (r) => (r * 180) / Math.PI;

/**
 * Polar stereographic projection (ellipsoidal, Snyder 1987, ch. 21) from PROJ parameters:
 * {lat_0: ±90, lat_ts | k_0, lon_0, x_0, y_0, a, b}. Returns {forward, inverse}.
 */
export function stereographic(p) {
  const a = p.a;
  const e = Math.sqrt(Math.max(0, 1 - (p.b * p.b) / (a * a)));
  const south = p.lat_0 < 0;
  const lon0 = rad(p.lon_0 || 0);
  const x0 = p.x_0 || 0;
  const y0 = p.y_0 || 0;
  const t = (phi) => Math.tan(Math.PI / 4 - phi / 2) / ((1 - e * Math.sin(phi)) / (1 + e * Math.sin(phi))) ** (e / 2);
  const m = (phi) => Math.cos(phi) / Math.sqrt(1 - (e * Math.sin(phi)) ** 2);
  let k;
  if (p.lat_ts !== undefined && Math.abs(p.lat_ts) < 90) {
    const c = rad(Math.abs(p.lat_ts));
    k = (a * m(c)) / t(c);
  } else {
    k = (2 * a * (p.k_0 ?? 1)) / Math.sqrt((1 + e) ** (1 + e) * (1 - e) ** (1 - e));
  }
  return {
    south,
    forward(lon, lat) {
      let phi = rad(lat);
      let lam = rad(lon) - lon0;
      if (south) {
        phi = -phi;
        lam = -lam;
      }
      const rho = k * t(phi);
      let x = rho * Math.sin(lam);
      let y = -rho * Math.cos(lam);
      if (south) {
        x = -x;
        y = -y;
      }
      return [x + x0, y + y0];
    },
    inverse(x, y) {
      let X = x - x0;
      let Y = y - y0;
      if (south) {
        X = -X;
        Y = -Y;
      }
      const ts = Math.hypot(X, Y) / k;
      let phi = Math.PI / 2 - 2 * Math.atan(ts);
      for (let i = 0; i < 20; i += 1) {
        const es = e * Math.sin(phi);
        const next = Math.PI / 2 - 2 * Math.atan(ts * ((1 - es) / (1 + es)) ** (e / 2));
        const done = Math.abs(next - phi) < 1e-12;
        phi = next;
        if (done) break;
      }
      let lam = X === 0 && Y === 0 ? 0 : Math.atan2(X, -Y);
      if (south) {
        phi = -phi;
        lam = -lam;
      }
      const lon = ((((deg(lam + lon0) + 180) % 360) + 360) % 360) - 180;
      return [lon, deg(phi)];
    },
  };
}

function graticule(south) {
  const features = [];
  const sign = south ? -1 : 1;
  for (let lat = 40; lat <= 80; lat += 10) {
    const ring = [];
    for (let lon = -180; lon <= 180; lon += 2) ring.push([lon, sign * lat]);
    features.push(ring);
  }
  for (let lon = -180; lon < 180; lon += 30) features.push([[lon, sign * 30], [lon, sign * 89.5]]);
  return { type: "MultiLineString", coordinates: features };
}

/** Insert points along a lon/lat line so that no step is longer than `step` degrees. */
function densifyLine(coords, step = 1) {
  const out = [];
  for (let i = 0; i < coords.length - 1; i += 1) {
    const [x0, y0] = coords[i];
    const [x1, y1] = coords[i + 1];
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) / step));
    for (let k = 0; k < n; k += 1) out.push([x0 + ((x1 - x0) * k) / n, y0 + ((y1 - y0) * k) / n]);
  }
  out.push(coords[coords.length - 1]);
  return out;
}

/** Whether a lon/lat segment only closes a ring along the antimeridian or through a pole. */
const seam = ([x0, y0], [x1, y1]) => (Math.abs(x0) === 180 && x0 === x1) || (Math.abs(y0) === 90 && y0 === y1);

/**
 * A region (GeoJSON Feature or geometry in lon/lat) for a polar map: its rings densified so
 * that straight lon/lat edges become curves, as a filled shape without an outline, plus its
 * outline without the seams a lon/lat polygon has along the antimeridian and at the pole.
 */
export function polarRegion(feature) {
  const geometry = feature.type === "Feature" ? feature.geometry : feature;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  const fill = { type: "MultiPolygon", coordinates: polygons.map((rings) => rings.map((r) => densifyLine(r))) };
  const lines = [];
  for (const ring of polygons.flat()) {
    let part = [ring[0]];
    for (let i = 1; i < ring.length; i += 1) {
      if (seam(ring[i - 1], ring[i])) {
        if (part.length > 1) lines.push(densifyLine(part));
        part = [ring[i]];
      } else part.push(ring[i]);
    }
    if (part.length > 1) lines.push(densifyLine(part));
  }
  return { fill, outline: { type: "MultiLineString", coordinates: lines } };
}

/** The polar stereographic variables of the hub (cached). */
function polarIndex() {
  return getCached("/portal/native/").then((d) => d.layers).catch(() => []);
}

/**
 * Create a polar map for a collection's variable in `container`, or return null when the
 * collection is not on a polar stereographic grid.
 * Returns {map, setImage(url), toLonLat(latlng), toBbox(bounds), boxGeometry(box), coordsToLatLng}.
 */
export async function polarMap(container, doc, variable) {
  if (!isProjected(doc)) return null;
  const layers = await polarIndex();
  const entry = layers.find((l) => l.collection === doc.id);
  if (!entry) return null;
  const name = entry.variables.includes(variable) ? variable : entry.variables[0];
  const info = await getJSON(`/portal/native/${encodeURIComponent(doc.id)}/${encodeURIComponent(name)}.json`);
  const proj = stereographic(info.projection);
  const farSide = proj.south ? -FAR_SIDE_LIMIT : FAR_SIDE_LIMIT;
  const clampLat = (lat) => (proj.south ? Math.min(lat, farSide) : Math.max(lat, farSide));
  const coordsToLatLng = (c) => {
    const [x, y] = proj.forward(c[0], clampLat(c[1]));
    return L.latLng(y, x);
  };
  const crs = L.extend({}, L.CRS.Simple, {
    transformation: new L.Transformation(1 / METRES_PER_PIXEL, 0, -1 / METRES_PER_PIXEL, 0),
  });
  const [xmin, ymin, xmax, ymax] = info.bounds;
  const imageBounds = L.latLngBounds([ymin, xmin], [ymax, xmax]);
  const map = createMap(container, {
    crs,
    coordsToLatLng,
    center: [(ymin + ymax) / 2, (xmin + xmax) / 2],
    zoom: 0,
    minZoom: -2,
    maxZoom: 6,
    maxBounds: imageBounds.pad(0.5),
    label: t("polar.mapOf", { title: doc.title || doc.id }),
  });
  container.classList.add("polar");
  container.dataset.projection = proj.south ? "south-polar-stereographic" : "north-polar-stereographic";
  map.fitBounds(imageBounds.pad(-0.1), { animate: false });
  L.geoJSON(graticule(proj.south), {
    pane: "sc-lines", coordsToLatLng, interactive: false,
    style: { color: "#7d8791", weight: 0.5, opacity: 0.6, dashArray: "2 4" },
  }).addTo(map);
  let image = null;
  return {
    map,
    coordsToLatLng,
    setImage(src) {
      if (image) image.setUrl(src);
      else {
        image = L.imageOverlay(src, imageBounds, { pane: "tilePane", className: "data-layer native-image", interactive: false }).addTo(map);
      }
    },
    toLonLat: (ll) => proj.inverse(ll.lng, ll.lat),
    toBbox: (bounds) => [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map(Math.round),
    /** A lon/lat polygon of a box drawn in map metres (null when it holds the pole). */
    boxGeometry([x1, y1, x2, y2]) {
      const [px, py] = [info.projection.x_0 || 0, info.projection.y_0 || 0];
      if (x1 <= px && px <= x2 && y1 <= py && py <= y2) return null;
      const ring = [];
      const steps = 16;
      const corners = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]];
      for (let c = 0; c < 4; c += 1) {
        const [ax, ay] = corners[c];
        const [bx, by] = corners[c + 1];
        for (let i = 0; i < steps; i += 1) ring.push(proj.inverse(ax + ((bx - ax) * i) / steps, ay + ((by - ay) * i) / steps));
      }
      ring.push(ring[0]);
      for (let i = 1; i < ring.length; i += 1) { // keep longitudes continuous across 180°
        while (ring[i][0] - ring[i - 1][0] > 180) ring[i][0] -= 360;
        while (ring[i][0] - ring[i - 1][0] < -180) ring[i][0] += 360;
      }
      return { type: "Polygon", coordinates: [ring] };
    },
  };
}
