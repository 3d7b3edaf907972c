"""Operating the hub: structured logs with request ids, Prometheus metrics, server set-up.

- :mod:`.logs`: one JSON object a line (``SCO_LOG_FORMAT=json``), the request id of the
  request being served on every line;
- :mod:`.metrics`: request counts and latencies by route template and status, response
  bytes, rate-limited requests, live worker processes, and job queue depth and collection
  count read from the database at scrape time; aggregated across the workers of
  ``sco serve --workers N`` (multiprocess mode);
- :mod:`.serving`: what ``sco serve`` prepares before starting its workers.
"""
