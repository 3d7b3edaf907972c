// The portal's router: one view at a time in <main>, chosen by the URL's hash (#/map/sst...).

import { el, clear } from "./dom.js";
import { mountCatalog } from "./catalog.js";
import { mountViewer, mountViewerChooser } from "./viewer.js";
import { mountSeries } from "./series.js";
import { mountDataset } from "./dataset.js";
import { mountDownload, mountDownloadChooser } from "./download.js";
import { mountCompare } from "./compare.js";
import { mountPlace, mountPlaces } from "./places.js";
import { chooseLanguage, errorText, language, languageHref, setLanguage, t } from "./i18n.js";

const ROUTES = [
  { pattern: /^\/?$/, nav: "catalog", mount: mountCatalog },
  { pattern: /^\/catalog$/, nav: "catalog", mount: mountCatalog },
  { pattern: /^\/map$/, nav: "map", mount: mountViewerChooser },
  { pattern: /^\/map\/([^/]+)$/, nav: "map", mount: mountViewer },
  { pattern: /^\/series\/([^/]+)$/, nav: "map", mount: mountSeries },
  { pattern: /^\/dataset\/([^/]+)$/, nav: "catalog", mount: mountDataset },
  { pattern: /^\/download$/, nav: "download", mount: mountDownloadChooser },
  { pattern: /^\/download\/([^/]+)$/, nav: "download", mount: mountDownload },
  { pattern: /^\/compare$/, nav: "compare", mount: mountCompare },
  { pattern: /^\/places$/, nav: "places", mount: mountPlaces },
  { pattern: /^\/places\/([^/]+)$/, nav: "places", mount: mountPlace },
];

const main = document.getElementById("main");
let current = null;
let generation = 0;

/** Split the hash into a path and its query parameters. */
export function parseHash(hash = window.location.hash) {
  const text = hash.replace(/^#/, "") || "/";
  const [path, query = ""] = text.split("?");
  return { path, params: new URLSearchParams(query) };
}

/** Replace the current hash's query without re-rendering the view (shareable state). */
export function updateQuery(values) {
  const { path, params } = parseHash();
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === "") params.delete(key);
    else params.set(key, String(value));
  }
  const query = params.toString();
  history.replaceState(null, "", `#${path}${query ? `?${query}` : ""}`);
}

function showError(err) {
  clear(main);
  main.append(
    el("section", { class: "panel" },
      el("h1", {}, t("error.title")),
      el("p", { role: "alert", class: "error" }, err && err.message ? errorText(err) : String(err)),
      el("p", {}, el("a", { href: "#/catalog" }, t("error.back")))),
  );
}

async function route() {
  const hash = window.location.hash;
  if (hash && !hash.startsWith("#/")) return; // in-page anchors
  const { path, params } = parseHash(hash);
  const found = ROUTES.map((r) => ({ r, m: path.match(r.pattern) })).find((x) => x.m);
  generation += 1;
  const mine = generation;
  if (current && current.destroy) {
    try {
      current.destroy();
    } catch (err) {
      console.warn("view cleanup failed", err);
    }
  }
  current = null;
  clear(main);
  for (const link of document.querySelectorAll("nav [data-nav]")) {
    if (found && link.dataset.nav === found.r.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!found) {
    showError(new Error(t("error.noPage", { path })));
    return;
  }
  const args = found.m.slice(1).map(decodeURIComponent);
  try {
    const view = await found.r.mount(main, { args, params });
    if (mine !== generation) {
      if (view && view.destroy) view.destroy();
      return;
    }
    current = view;
  } catch (err) {
    if (mine === generation) showError(err);
  }
}

document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

/** Load the language's messages, offer the others, then show the view of the address. */
async function start() {
  try {
    await setLanguage(chooseLanguage());
  } catch (err) {
    console.warn("messages not loaded", err);
  }
  const chooser = document.getElementById("language");
  chooser.value = language();
  chooser.addEventListener("change", async () => {
    history.replaceState(null, "", languageHref(chooser.value));
    await setLanguage(chooser.value);
    route();
  });
  window.addEventListener("hashchange", route);
  route();
}
start();
