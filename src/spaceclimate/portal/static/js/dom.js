// Small DOM helpers. Text from the hub (titles, descriptions, metadata of data files) is only
// ever set with textContent or as attribute values: never parsed as HTML.

import { formatDate, formatFixed, formatNumber, t } from "./i18n.js";

/**
 * Create an element: el("a", {href: "#/", class: "x", onclick: fn}, "text", child, ...).
 * Properties starting with "on" become event listeners; "class" and "for" are mapped; values
 * null/undefined/false are skipped; children may be strings (text nodes), nodes or arrays.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "for") {
      node.htmlFor = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(node.style, value);
    } else if (key in node && typeof value !== "string") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** Append children (strings become text nodes; arrays are flattened; nullish skipped). */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Remove every child of a node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

let uid = 0;
/** A unique element id with a readable prefix. */
export function newId(prefix = "sc") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns {wrap, input}. */
export function field(label, input, hint) {
  if (!input.id) input.id = newId("f");
  const parts = [el("label", { for: input.id }, label), input];
  if (hint) {
    const hintId = newId("h");
    input.setAttribute("aria-describedby", hintId);
    parts.push(el("small", { id: hintId, class: "hint" }, hint));
  }
  return { wrap: el("div", { class: "field" }, parts), input };
}

/** A <select> with options [{value, label}] (or strings) and a selected value. */
export function select(options, selected, props = {}) {
  const node = el("select", props);
  for (const opt of options) {
    const { value, label } = typeof opt === "string" ? { value: opt, label: opt } : opt;
    const option = new Option(label, value, false, value === selected);
    node.add(option);
  }
  return node;
}

/** Format a byte count for people in the current language (1.5 MB, 1,5 Mo). */
export function humanBytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = Number(n);
  for (const unit of units) {
    if (Math.abs(value) < 1000 || unit === "TB") {
      return t(`bytes.${unit}`, { value: formatFixed(value, unit === "B" ? 0 : 1) });
    }
    value /= 1000;
  }
  return t("bytes.B", { value: String(value) });
}

/** Format a number with up to 4 significant digits (in the current language: 271,3). */
export function fmt(value, digits = 4) {
  return formatNumber(value, digits);
}

/** An ISO date-time as a short UTC label: 2017-06-05 or 2017-06-05 12:00 (5 juin 2017...). */
export function dateLabel(iso, withTime = false) {
  if (!iso) return "";
  return formatDate(String(iso), withTime ? "minute" : "day");
}

/** Copy text to the clipboard, falling back to selecting a text area. */
export async function copyText(text, status) {
  try {
    await navigator.clipboard.writeText(text);
    if (status) status.textContent = t("copy.done");
  } catch {
    if (status) status.textContent = t("copy.manual");
  }
}

/** Offer a Blob as a file download. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, class: "visually-hidden" }, filename);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

/** A status line read out by screen readers when it changes. */
export function statusLine(cls = "status") {
  return el("p", { class: cls, role: "status", "aria-live": "polite" });
}

/** A table with a caption, column heads and rows whose first cell heads the row. */
export function dataTable(caption, head, rows, props = {}) {
  return el("div", { class: "table-wrap" }, el("table", props,
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => (i === 0 ? el("th", { scope: "row" }, c) : el("td", {}, c))))))));
}
