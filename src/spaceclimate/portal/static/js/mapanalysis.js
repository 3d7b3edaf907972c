// The map viewer's analyses: an "Analysis" panel that runs the hub's operations (any that can
// run from a map, with forms made from their descriptions: see operations.js) as jobs (progress, cancel, the job's message when it fails) and then shows the
// derived collection they publish; the note naming a derived layer with a way back to its
// source; and the "as anomalies against a baseline" switch of the time-series panel.

import { el, field, newId, statusLine } from "./dom.js";
import { collection, forgetCollections } from "./api.js";
import { hasTime, isProjected } from "./collections.js";
import { JobFailed, cancelJob, runJob } from "./jobs.js";
import { anomalies, defaultBaseline, parsePeriod, periodLabel } from "./climate.js";
import { fitsMap, listOperations, operationForm, operationLabel } from "./operations.js";
import { errorText, formatDate, t } from "./i18n.js";

const METHODS = { ols: "trend.ols", sen: "trend.sen" };

/** A year/date text input with a label and a placeholder. */
function periodInput(value, placeholder) {
  return el("input", {
    type: "text", inputmode: "numeric", autocomplete: "off", spellcheck: "false",
    value: value || "", placeholder, maxlength: 10, size: 10,
  });
}

/** Radio buttons in a fieldset: returns {node, value(), onChange(fn)}. */
function radios(name, legendText, options, selected) {
  const inputs = [];
  const node = el("fieldset", { class: "radios" }, el("legend", {}, legendText),
    options.map(({ value, label }) => {
      const input = el("input", { type: "radio", name, value, id: newId("r"), checked: value === selected });
      inputs.push(input);
      return el("div", { class: "check" }, input, el("label", { for: input.id }, label));
    }));
  return {
    node,
    value: () => (inputs.find((i) => i.checked) || inputs[0]).value,
    onChange: (fn) => inputs.forEach((i) => i.addEventListener("change", fn)),
  };
}

/**
 * What a derived collection is, from its `sco:derived_from` record: {process, source,
 * variable, label} (label such as "Anomaly of sst against 2007–2009"), or null.
 */
export function derivedInfo(doc) {
  const from = doc["sco:derived_from"];
  if (!from || typeof from !== "object" || !from.process) return null;
  const params = from.parameters || {};
  const source = String(params.collection || ((from.inputs || [])[0] || {}).collection || "");
  const variable = String(params.variable || "");
  const what = variable || t("derived.theData");
  let label = String(doc.title || doc.id);
  if (from.process === "anomaly" && params.baseline) {
    const [a, b] = String(params.baseline).split("/");
    const kind = params.kind === "relative" ? "derived.relativeAnomalyOf" : "derived.anomalyOf";
    label = t(kind, { what, period: periodLabel(a, b ?? a) });
  } else if (from.process === "trend") {
    const [start, end] = String(params.datetime || "").split("/");
    const range = params.datetime ? `, ${t("time.range", { start: formatDate(start), end: formatDate(end) })}` : "";
    const per = params.per === "year" ? t("rate.perYear") : t("rate.perDecade");
    label = t("derived.trendOf", { what, method: t(METHODS[params.method] || METHODS.ols), per, range });
  }
  return { process: String(from.process), source, variable, label };
}

/** The note above a derived layer: what it is and a link back to the source layer. */
export async function derivedNote(doc) {
  const info = derivedInfo(doc);
  if (!info) return null;
  let sourceTitle = info.source;
  try {
    sourceTitle = (await collection(info.source)).title || info.source;
  } catch {
    sourceTitle = info.source;
  }
  const back = `#/map/${encodeURIComponent(info.source)}${info.variable ? `?var=${encodeURIComponent(info.variable)}` : ""}`;
  const [before, after] = t("derived.computedBy", { process: info.process }).split("{source}");
  return el("div", { class: "derived-note", role: "note", "aria-label": t("derived.layer") },
    el("p", { class: "derived-label" }, info.label),
    el("p", { class: "derived-source" }, before, el("cite", {}, sourceTitle), after || ""),
    el("a", { class: "button", href: back, "data-role": "back-to-source" }, t("derived.back")));
}

/**
 * The Analysis panel of a gridded collection with a time axis (three steps at least: a trend
 * needs them): one choice for every operation of the hub that can run from this map (see
 * operations.js), with the form its inputs make. onResult({cid, variable, process}) is called
 * with the derived collection once its job has succeeded. Returns {node, destroy()} at once
 * (the forms arrive when the hub's processes have been read), or null where it does not
 * apply: static collections, and polar stereographic grids (their derived collections carry
 * no projection the map could draw them with).
 */
export function analysisPanel({ doc, getVariable, times, onResult }) {
  if (!hasTime(doc) || times.length < 3 || isProjected(doc)) return null;
  const node = el("div", { class: "analysis", role: "group", "aria-label": t("analysis.title"), hidden: true });
  let controller = null;
  let destroyed = false;
  listOperations().then((ops) => {
    const usable = ops.filter((op) => fitsMap(op, doc));
    if (destroyed || !usable.length) return;
    build(usable);
    node.hidden = false;
  }).catch(() => {});

  function build(usable) {
    const forms = new Map(usable.map((op) => [op.id, { op, form: operationForm(op, { doc, times }) }]));
    const mode = radios(newId("mode"), t("analysis.compute"),
      usable.map((op) => ({ value: op.id, label: capitalise(operationLabel(op)) })), usable[0].id);
    const run = el("button", { type: "button", class: "primary" });
    const cancel = el("button", { type: "button", hidden: true }, t("analysis.cancel"));
    const progressId = newId("progress");
    const progress = el("progress", { id: progressId, max: 100, value: 0 });
    const progressBox = el("div", { class: "job-progress", hidden: true },
      el("label", { for: progressId }, t("analysis.progress")), progress);
    const status = statusLine();
    const error = el("p", { class: "error", role: "alert" });
    // a group, not a form: the panel sits inside the viewer's controls form
    node.append(el("fieldset", {}, el("legend", {}, t("analysis.title")),
      usable.length > 1 ? mode.node : null,
      [...forms.values()].map(({ form }) => form.node),
      el("div", { class: "buttons" }, run, cancel), progressBox, status, error));

    const current = () => forms.get(usable.length > 1 ? mode.value() : usable[0].id);
    const syncMode = () => {
      const chosen = current();
      for (const { op, form } of forms.values()) form.node.hidden = op !== chosen.op;
      run.textContent = t("analysis.run", { what: operationLabel(chosen.op) });
    };
    mode.onChange(syncMode);
    syncMode();

    let jobId = null;
    const busy = (on) => {
      run.disabled = on;
      cancel.hidden = !on;
      cancel.disabled = false;
      progressBox.hidden = !on;
      node.setAttribute("aria-busy", on ? "true" : "false");
    };

    async function submit() {
      error.textContent = "";
      const { op, form } = current();
      let inputs;
      try {
        inputs = form.read(getVariable());
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      controller = new AbortController();
      jobId = null;
      busy(true);
      progress.value = 0;
      status.textContent = t("analysis.submitting", { what: operationLabel(op) });
      try {
        const { results } = await runJob(op.id, inputs, {
          signal: controller.signal,
          onUpdate(job) {
            jobId = job.jobID;
            const pct = Math.max(0, Math.min(100, Number(job.progress) || 0));
            progress.value = pct;
            const state = t(`job.${job.status}`);
            progress.setAttribute("aria-valuetext", `${pct} %: ${job.message || state}`);
            status.textContent = t("analysis.jobStatus", { status: state, message: job.message || "", percent: pct });
          },
        });
        const derived = results.collection || {};
        const variable = (derived.variables || [])[0];
        if (!derived.collection || !variable) throw new Error(t("analysis.noResult"));
        status.textContent = t("analysis.done", { what: operationLabel(op) });
        forgetCollections();
        onResult({ cid: derived.collection, variable, process: op.id });
      } catch (err) {
        if (err.name === "AbortError") return;
        if (err instanceof JobFailed && err.status.status === "dismissed") {
          status.textContent = t("analysis.cancelled");
        } else {
          status.textContent = "";
          error.textContent = err instanceof JobFailed ? t("analysis.failed", { message: err.message }) : t("analysis.couldNotRun", { message: errorText(err) });
        }
      } finally {
        if (!controller.signal.aborted) busy(false);
      }
    }
    run.addEventListener("click", submit);
    for (const { form } of forms.values()) {
      for (const input of form.inputs) {
        if (input.tagName !== "INPUT" || input.type === "checkbox") continue;
        input.addEventListener("keydown", (event) => {
          if (event.key === "Enter" && !run.disabled) {
            event.preventDefault();
            submit();
          }
        });
      }
    }
    cancel.addEventListener("click", async () => {
      if (!jobId) return;
      cancel.disabled = true;
      status.textContent = t("analysis.cancelling");
      try {
        await cancelJob(jobId);
      } catch (err) {
        error.textContent = t("analysis.cancelFailed", { message: errorText(err) });
      }
    });
  }

  return {
    node,
    destroy() {
      destroyed = true;
      if (controller) controller.abort();
    },
  };
}

const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The time-series panel's switch "as anomalies against a baseline" with the baseline's years.
 * Returns {node, enabled(), period(), apply(series) -> {values, period}, onChange(fn)}.
 */
export function seriesAnomalySwitch(times) {
  const base = defaultBaseline(times) || { start: "", end: "" };
  const check = el("input", { type: "checkbox", id: newId("anom") });
  const start = periodInput(base.start, t("period.eg", { example: "1991" }));
  const end = periodInput(base.end, t("period.eg", { example: "2020" }));
  const fields = el("div", { class: "row two", hidden: true },
    field(t("anomaly.start"), start).wrap, field(t("anomaly.end"), end).wrap);
  const node = el("div", { class: "series-anomaly" },
    el("div", { class: "check" }, check, el("label", { for: check.id }, t("anomaly.switch"))),
    fields);
  const listeners = [];
  const changed = () => listeners.forEach((fn) => fn());
  check.addEventListener("change", () => {
    fields.hidden = !check.checked;
    changed();
  });
  start.addEventListener("change", changed);
  end.addEventListener("change", changed);
  return {
    node,
    enabled: () => check.checked,
    period: () => parsePeriod(start.value, end.value, t("anomaly.baseline")),
    /** The anomalies of a series {times, values} against the baseline's climatology. */
    apply(series) {
      const period = parsePeriod(start.value, end.value, t("anomaly.baseline"));
      const result = anomalies(series.times, series.values, period);
      return { values: result.values, period, kind: result.kind };
    },
    onChange: (fn) => listeners.push(fn),
  };
}
