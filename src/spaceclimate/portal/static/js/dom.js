// Small DOM helpers. Text from the hub (titles, descriptions, metadata of data files) is only
// ever set with textContent or as attribute values: never parsed as HTML.

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

/** Format a byte count for people (1.5 MB). */
export function humanBytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = Number(n);
  for (const unit of units) {
    if (Math.abs(value) < 1000 || unit === "TB") {
      return unit === "B" ? `${value.toFixed(0)} B` : `${value.toFixed(1)} ${unit}`;
    }
    value /= 1000;
  }
  return `${value} B`;
}

/** Format a number with up to 4 significant digits. */
export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "no data";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

/** ISO date-time to a short UTC label: 2017-06-05 or 2017-06-05 12:00. */
export function dateLabel(iso, withTime = false) {
  if (!iso) return "";
  const text = String(iso);
  if (!withTime) return text.slice(0, 10);
  return `${text.slice(0, 10)} ${text.slice(11, 16)}`;
}

/** Copy text to the clipboard, falling back to selecting a text area. */
export async function copyText(text, status) {
  try {
    await navigator.clipboard.writeText(text);
    if (status) status.textContent = "Copied to the clipboard.";
  } catch {
    if (status) status.textContent = "Select the text and copy it (Ctrl+C).";
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
