"""The ingest job: source files sent over HTTP, ingested as any ``sco ingest``.

``POST /ingest`` saves uploaded files (or the list of URLs to fetch) under
``SCO_HOME/uploads/<job id>/`` and queues a job of kind ``ingest``; a job runner (an API
worker or ``sco jobs work``) then

1. fetches the URLs through the hub's guarded client (:mod:`spaceclimate.net`: allowed
   prefixes and public addresses only, on every redirect; a deadline per download; the
   upload size limit counted as bytes arrive; stopped when the job is dismissed or out of
   time),
2. checks again that the submitting key exists, is not revoked and may write every collection
   the files make (by their recipes),
3. runs :meth:`spaceclimate.ingest.Ingestor.ingest` on the files (atomic: bad input anywhere
   leaves the hub as it was),
4. records the outcome in the audit log, and returns the collections and versions published.

A failed job removes its uploads (nothing was published from them), and so does one that
changed nothing; a job that published keeps them, since its items name them as their
sources. Once the ingest has begun it runs to its end: dismissing it or its time limit stop
it only while it fetches.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from spaceclimate.access import Access, Actor, ApiKey, AuditEntry
from spaceclimate.config import Settings
from spaceclimate.ecv import get_recipe, match_recipes
from spaceclimate.ecv.models import Recipe
from spaceclimate.errors import ForbiddenError, InputError, SCOError
from spaceclimate.jobs.env import JobCancelled, JobEnv, JobTimeLimit
from spaceclimate.net import Fetcher, FetchPolicy, redact

#: The private part of a submission (full URLs, who sent it), beside the files.
REQUEST_FILE = "request.json"
FILES = "files"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+,=@-]{0,254}$")


def upload_dir(settings: Settings, job_id: str) -> Path:
    """Return the folder of a job's uploads: ``SCO_HOME/uploads/<job id>``."""
    if not re.fullmatch(r"[0-9a-f]{32}", job_id):
        raise InputError(f"job id {job_id!r}: not a job id")
    return settings.resolved_home / "uploads" / job_id


def safe_name(name: str, where: str) -> str:
    """Return the base name of an uploaded file or URL path; InputError when unusable."""
    base = unquote(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not _SAFE_NAME.match(base):
        raise InputError(
            f"{where}: file name {base!r} must start with a letter or digit and hold only "
            "letters, digits and . _ + , = @ -"
        )
    return base


def check_urls(urls: Any, policy: FetchPolicy) -> list[str]:
    """Return the URLs of a JSON submission after checking each by itself against *policy*.

    Scheme, host, the allowed prefixes and literal addresses are judged here, at once (400);
    where a host's name resolves to, and every redirect, are judged when the job fetches.
    """
    if not isinstance(urls, list) or not urls or len(urls) > 1000:
        raise InputError("urls: must be a list of 1 to 1000 http(s) URLs")
    out = []
    for i, url in enumerate(urls):
        if not isinstance(url, str):
            raise InputError(f"urls[{i}]: must be a string")
        reason = policy.refusal(url)
        if reason:
            raise InputError(f"urls[{i}]: {redact(url)!r} {reason}")
        out.append(url)
    return out


def target_recipes(names: list[str], recipe_id: str | None) -> dict[str, Recipe]:
    """Return the recipes (collections) that files of these names would publish."""
    recipes: dict[str, Recipe] = {}
    for name in names:
        for recipe in [get_recipe(recipe_id)] if recipe_id else match_recipes(Path(name)):
            recipes[recipe.id] = recipe
    return recipes


def check_scope(key: ApiKey, recipes: dict[str, Recipe]) -> None:
    """ForbiddenError unless *key* may write every collection of *recipes*."""
    for recipe in recipes.values():
        agencies = set(recipe.agencies) | {p.name for p in recipe.providers}
        if not key.may_write(recipe.id, agencies):
            raise ForbiddenError(
                f"{key.label()} may not publish {recipe.id!r} (of {', '.join(sorted(agencies))})"
            )


def write_request(folder: Path, urls: list[str], actor: Actor) -> None:
    """Save the private part of a submission beside its files."""
    (folder / FILES).mkdir(parents=True, exist_ok=True)
    payload = {"urls": urls, "actor": actor.__dict__}
    (folder / REQUEST_FILE).write_text(json.dumps(payload), encoding="utf-8")


def _fetch(urls: list[str], target: Path, settings: Settings, env: JobEnv) -> None:
    """Download *urls* into *target* through the hub's guarded client.

    Every URL and redirect is judged by the fetch policy of *settings*; the downloads stop
    at the job's end and when it is dismissed (the job's reports, about every second, say
    so), and together they may bring at most ``SCO_MAX_UPLOAD_BYTES``.
    """
    position = [0]

    def check(shown: str, received: int) -> None:
        env.report(0.1 * position[0] / len(urls), f"fetching {shown} ({received} bytes)")

    fetcher = Fetcher(
        FetchPolicy.from_settings(settings),
        max_bytes=settings.max_upload_bytes,
        deadline=env.deadline,
        check=check,
    )
    for i, url in enumerate(urls):
        position[0] = i
        env.report(0.1 * i / len(urls), f"fetching {redact(url)}")
        name = safe_name(urlsplit(url).path, f"urls[{i}]")
        with (target / name).open("wb") as out:
            fetcher.download(url, out)


def run_ingest_job(env: JobEnv, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run one ingest job (see the module's description); return its outputs."""
    from spaceclimate.ingest import Ingestor

    settings: Settings = env.settings
    assert env.job_id is not None
    folder = upload_dir(settings, env.job_id)
    access = Access(settings)
    try:
        try:
            request = json.loads((folder / REQUEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise InputError(f"the uploads of job {env.job_id} are gone") from None
        actor = Actor(**request["actor"])
        recipe_id = inputs.get("recipe")
        try:
            if request["urls"]:
                _fetch(request["urls"], folder / FILES, settings, env)
            key = access.keys.get(str(actor.key_id))
            if key.revoked:
                raise ForbiddenError(f"key {key.id} was revoked before the job ran")
            files = sorted((folder / FILES).iterdir())
            check_scope(key, target_recipes([f.name for f in files], recipe_id))
            env.report(0.1, "ingesting")

            def progress(message: str, done: int, total: int) -> None:
                with contextlib.suppress(JobCancelled, JobTimeLimit):  # publishing: run to the end
                    env.report(0.1 + 0.85 * done / max(total, 1), message)

            ingestor = Ingestor(settings, progress)
            try:
                results = ingestor.ingest(files, recipe_id)
            finally:
                ingestor.close()
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)
            reason = exc.message if isinstance(exc, SCOError) else type(exc).__name__
            access.audit.record(
                AuditEntry("ingest.fail", actor, job_id=env.job_id, detail={"reason": reason})
            )
            raise
        (folder / REQUEST_FILE).unlink(missing_ok=True)
        if not any(r.status == "published" for r in results):
            shutil.rmtree(folder, ignore_errors=True)  # no item names these files
        access.audit.record(
            *(
                AuditEntry(
                    "ingest.publish" if r.status == "published" else "ingest.unchanged",
                    actor,
                    r.collection_id,
                    version=r.version,
                    job_id=env.job_id,
                    detail={"files": r.files},
                )
                for r in results
            )
        )
    finally:
        access.close()
    return {
        "collections": [
            {
                "id": r.collection_id,
                "status": r.status,
                "version": r.version,
                "files": r.files,
                "href": f"/stac/collections/{r.collection_id}",
            }
            for r in results
        ]
    }
