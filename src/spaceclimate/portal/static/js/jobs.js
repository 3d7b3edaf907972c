// Asynchronous jobs of the hub's OGC API Processes: submit with `Prefer: respond-async`, poll
// `/jobs/{id}` for progress, dismiss with `DELETE /jobs/{id}`, read `/jobs/{id}/results`.
// Jobs are addressed by their id on this page's own origin (never by the Location header,
// whose host is whatever the server thinks it is). A job submitted without an API key is
// reached with the access token the hub answers when it creates it (`sco:access`): this
// page keeps it and sends it as `?access=` with every request for that job.

import { getJSON, requestJSON } from "./api.js";
import { t } from "./i18n.js";

const RUNNING = new Set(["accepted", "running"]);

/** A job that ended without results: its status document and its one-line message. */
export class JobFailed extends Error {
  constructor(status) {
    super(String(status.message || status.status || t("job.failedPlain")).split("\n")[0]);
    this.status = status;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(new DOMException("aborted", "AbortError"));
      return;
    }
    const timer = setTimeout(resolve, ms);
    if (signal) {
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      }, { once: true });
    }
  });
}

const jobPath = (id) => `/jobs/${encodeURIComponent(id)}`;

// jobID -> access token of the jobs this page created
const tokens = new Map();
const access = (id) => (tokens.has(id) ? { access: tokens.get(id) } : {});

/**
 * Run a process as a job and wait for it. onUpdate(status) is called with each status
 * document (jobID, status, progress 0-100, message). Resolves to {status, results}; rejects
 * with JobFailed when the job fails or is dismissed, or with an AbortError when `signal`
 * aborts (the job itself keeps running on the hub then).
 */
export async function runJob(processId, inputs, { onUpdate = () => {}, signal } = {}) {
  let status = await requestJSON("POST", `/processes/${encodeURIComponent(processId)}/execution`,
    { inputs }, { headers: { Prefer: "respond-async" }, signal });
  if (status["sco:access"]) tokens.set(status.jobID, status["sco:access"]);
  onUpdate(status);
  let delay = 300;
  while (RUNNING.has(status.status)) {
    await sleep(delay, signal);
    delay = Math.min(2000, Math.round(delay * 1.4));
    status = await getJSON(jobPath(status.jobID), access(status.jobID), { signal });
    onUpdate(status);
  }
  if (status.status !== "successful") throw new JobFailed(status);
  const results = await getJSON(`${jobPath(status.jobID)}/results`, access(status.jobID), { signal });
  return { status, results };
}

/** Dismiss (cancel) a job; resolves to its status document. */
export function cancelJob(jobId) {
  return requestJSON("DELETE", jobPath(jobId), undefined, { query: access(jobId) });
}

/** Run a process at once (synchronous execution); resolves to its outputs. */
export function executeNow(processId, inputs, { signal } = {}) {
  return requestJSON("POST", `/processes/${encodeURIComponent(processId)}/execution`, { inputs }, { signal });
}
