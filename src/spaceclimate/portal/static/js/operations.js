// The hub's analytics operations as forms, made from their OGC process descriptions.
//
// Every operation is declared once on the hub (its inputs with JSON schemas); this module
// reads `/processes` and each `/processes/{id}`, and turns an operation's inputs into form
// fields: the collection and its variable come from the page, a period is two year/date
// fields, an interval two optional ones, a choice a <select> with the labels the hub gives,
// a number an <input type=number> with its limits. Inputs a map panel cannot give (another
// collection, an area) make an operation unavailable there when they are required, and are
// left out when they are optional.

import { el, field, newId, select } from "./dom.js";
import { getCached, hasPath } from "./api.js";
import { defaultBaseline, parsePeriod, periodInterval } from "./climate.js";
import { hasMessage, language, t } from "./i18n.js";

/**
 * The hub describes its operations in English. In another language the portal uses its own
 * words for the operations and inputs it knows: op.<operation>.<input>[.hint|.<choice>], else
 * input.<input>[.hint] for an input several operations share; anything else stays the hub's.
 */
function words(op, name, suffix, english) {
  if (language() === "en") return english;
  const found = [`op.${op}.${name}${suffix}`, `input.${name}${suffix}`].find(hasMessage);
  return found ? t(found) : english;
}

/** What an operation makes, for people (the anomaly map...). */
export function operationLabel(op) {
  return words(op.id, "label", "", op.label);
}

const inputTitle = (op, name, spec) => words(op, name, "", spec.title || name);
const inputHint = (op, name, spec) => words(op, name, ".hint", spec.description);

/** Every operation's description (cached): [{id, title, label, ecvs, inputs, outputs}]. */
export async function listOperations() {
  if (!(await hasPath("/processes/{process_id}"))) return [];
  const list = await getCached("/processes");
  const described = await Promise.all((list.processes || []).map(
    (p) => getCached(`/processes/${encodeURIComponent(p.id)}`).catch(() => null)));
  return described.filter(Boolean).map((doc) => ({
    id: doc.id,
    title: doc.title || doc.id,
    description: doc.description || "",
    label: doc["sco:label"] || doc.title || doc.id,
    ecvs: doc["sco:ecvs"] || ["*"],
    inputs: doc.inputs || {},
    outputs: doc.outputs || {},
  }));
}

const kindOf = (spec) => (spec.schema || {})["x-sco-kind"] || "";
/** Kinds of inputs a map panel fills itself or cannot offer. */
const FROM_PAGE = new Set(["collection", "variable"]);
const NOT_HERE = new Set(["bbox", "region", "geometry", "variables", "territory"]);

/**
 * Whether an operation can run from a map of collection `doc` and show its result there: it
 * publishes a derived collection, applies to the collection's ECV, and every input it needs
 * is one the panel can give (its only collection input is named `collection`).
 */
export function fitsMap(op, doc) {
  const ecv = doc["sco:ecv"];
  if (!op.ecvs.includes("*") && !op.ecvs.includes(ecv)) return false;
  if (!Object.values(op.outputs).some((o) => o["sco:kind"] === "collection")) return false;
  if (!op.inputs.collection || kindOf(op.inputs.collection) !== "collection") return false;
  return Object.entries(op.inputs).every(([name, spec]) => {
    const kind = kindOf(spec);
    const required = (spec.minOccurs || 0) > 0;
    if (kind === "collection") return name === "collection" || !required;
    if (kind === "variable") return (spec.schema || {})["x-sco-of"] === "collection" || !required;
    return !NOT_HERE.has(kind) || !required;
  });
}

/** A year/date text input. */
function periodInput(value, placeholder) {
  return el("input", {
    type: "text", inputmode: "numeric", autocomplete: "off", spellcheck: "false",
    value: value || "", placeholder, maxlength: 10, size: 10,
  });
}

/** From/Until fields in a group named after the input; read() -> text or undefined. */
function periodField(op, name, spec, { times, required, asInterval }) {
  const base = required ? (defaultBaseline(times) || { start: "", end: "" }) : { start: "", end: "" };
  const from = periodInput(base.start, required ? t("period.eg", { example: "1991" }) : t("period.firstStep"));
  const until = periodInput(base.end, required ? t("period.eg", { example: "2020" }) : t("period.lastStep"));
  const title = spec.title ? inputTitle(op, name, spec) : t("period.period");
  const legend = required ? title : t("field.optional", { title });
  const hintId = newId("h");
  const node = el("fieldset", { class: "period", "aria-describedby": hintId },
    el("legend", {}, legend),
    el("div", { class: "row two" }, field(t("time.from"), from).wrap, field(t("period.until"), until).wrap),
    el("small", { class: "hint", id: hintId }, required ? t("period.requiredHint") : t("period.optionalHint")));
  return {
    node,
    inputs: [from, until],
    read() {
      const a = from.value.trim();
      const b = until.value.trim();
      if (!required && !a && !b) return undefined;
      if (asInterval) {
        const period = parsePeriod(a || times[0].slice(0, 10), b || times[times.length - 1].slice(0, 10), title.toLowerCase());
        return periodInterval(period);
      }
      return parsePeriod(a, b, title.toLowerCase()).text;
    },
  };
}

/** A <select> of an enumeration, labelled by the hub's `x-sco-labels`. */
function choiceField(op, name, spec) {
  const schema = spec.schema || {};
  const labels = schema["x-sco-labels"] || {};
  const label = (v) => words(op, name, `.${v}`, labels[v] || String(v));
  const options = schema.enum.map((v) => ({ value: String(v), label: label(v) }));
  const input = select(options, schema.default !== undefined ? String(schema.default) : String(schema.enum[0]));
  const wrap = field(inputTitle(op, name, spec), input, inputHint(op, name, spec)).wrap;
  return { node: wrap, inputs: [input], read: () => input.value };
}

/** A number or text input; read() -> the value, or undefined when optional and empty. */
function plainField(op, name, spec, required) {
  const schema = spec.schema || {};
  const numeric = schema.type === "number" || schema.type === "integer";
  if (schema.type === "boolean") {
    const input = el("input", { type: "checkbox", checked: Boolean(schema.default) });
    const wrap = el("div", { class: "check" }, input, el("label", { for: (input.id = newId("c")) }, inputTitle(op, name, spec)));
    return { node: wrap, inputs: [input], read: () => input.checked };
  }
  const props = numeric
    ? { type: "number", step: schema.type === "integer" ? "1" : "any", inputmode: "decimal" }
    : { type: "text", maxlength: schema.maxLength || 200 };
  if (numeric && schema.minimum !== undefined) props.min = schema.minimum;
  if (numeric && schema.maximum !== undefined) props.max = schema.maximum;
  const input = el("input", { ...props, value: schema.default !== undefined ? String(schema.default) : "" });
  const units = schema["x-sco-units"];
  const named = inputTitle(op, name, spec);
  const title = units && units !== "1" ? `${named} (${units})` : named;
  const label = required ? title : t("field.optional", { title });
  const wrap = field(label, input, inputHint(op, name, spec)).wrap;
  return {
    node: wrap,
    inputs: [input],
    read() {
      const text = input.value.trim();
      if (!text) {
        if (required) throw new Error(t("field.missing", { title: named.toLowerCase() }));
        return undefined;
      }
      if (!numeric) return text;
      const value = Number(text);
      if (!Number.isFinite(value)) throw new Error(t("field.notNumber", { title: named.toLowerCase(), text }));
      return value;
    },
  };
}

/**
 * The form of one operation for a map of collection `doc`: {node, inputs (the text fields,
 * for Enter to submit), read(variable) -> the process inputs}. read throws an Error saying
 * what is wrong with a field.
 */
export function operationForm(op, { doc, times }) {
  const parts = [];
  for (const [name, spec] of Object.entries(op.inputs)) {
    const kind = kindOf(spec);
    const required = (spec.minOccurs || 0) > 0;
    if (FROM_PAGE.has(kind) || NOT_HERE.has(kind)) continue;
    const schema = spec.schema || {};
    let part;
    if (kind === "period" || kind === "interval") {
      part = periodField(op.id, name, spec, { times, required, asInterval: kind === "interval" });
    } else if (Array.isArray(schema.enum)) {
      part = choiceField(op.id, name, spec);
    } else if (["string", "number", "integer", "boolean"].includes(schema.type)) {
      part = plainField(op.id, name, spec, required);
    } else {
      continue; // an optional input of a kind the page cannot give
    }
    parts.push({ name, part });
  }
  const node = el("div", { class: "analysis-part", "data-operation": op.id }, parts.map((p) => p.part.node));
  return {
    node,
    inputs: parts.flatMap((p) => p.part.inputs),
    read(variable) {
      const inputs = { collection: doc.id };
      if (op.inputs.variable && variable) inputs.variable = variable;
      for (const { name, part } of parts) {
        const value = part.read();
        if (value !== undefined) inputs[name] = value;
      }
      return inputs;
    },
  };
}
