"""Copy the portal's front-end libraries from ``node_modules`` into ``static/vendor``.

Run at set-up, after ``npm ci`` in this folder (``make portal-assets`` does both)::

    python3 src/spaceclimate/portal/vendor.py

The files to copy are listed in ``vendor.json`` beside this module (data, not code). Only the
standard library is used, so the script runs before the project's virtual environment exists.
The hub then serves every script, style sheet and basemap from its own origin: the portal
needs no CDN and no internet at run time.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "vendor.json"
NODE_MODULES = HERE / "node_modules"
VENDOR = HERE / "static" / "vendor"


def load_manifest(path: Path = MANIFEST) -> tuple[dict[str, str], dict[str, str]]:
    """Return the ``files`` and ``folders`` maps (source under node_modules -> destination)."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return dict(manifest.get("files", {})), dict(manifest.get("folders", {}))


def missing_assets(vendor: Path = VENDOR, manifest: Path = MANIFEST) -> list[str]:
    """Return the destinations listed in the manifest that are not installed under *vendor*."""
    files, folders = load_manifest(manifest)
    wanted = [*files.values(), *folders.values()]
    return [dest for dest in wanted if not (vendor / dest).exists()]


def install(
    node_modules: Path = NODE_MODULES, vendor: Path = VENDOR, manifest: Path = MANIFEST
) -> list[Path]:
    """Copy every listed file and folder; return the destinations written.

    Raises
    ------
    FileNotFoundError
        When a listed source is missing (``npm ci`` not run, or the manifest is out of date).
    """
    files, folders = load_manifest(manifest)
    written: list[Path] = []
    for source, dest in files.items():
        src = node_modules / source
        if not src.is_file():
            raise FileNotFoundError(f"{src}: missing; run 'npm ci' in {node_modules.parent}")
        target = vendor / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)
    for source, dest in folders.items():
        src = node_modules / source
        if not src.is_dir():
            raise FileNotFoundError(f"{src}: missing; run 'npm ci' in {node_modules.parent}")
        target = vendor / dest
        shutil.copytree(src, target, dirs_exist_ok=True)
        written.append(target)
    return written


def main() -> int:
    """Install the assets; print one line; return the exit code."""
    try:
        written = install()
    except FileNotFoundError as exc:
        print(f"portal assets: {exc}", file=sys.stderr)
        return 2
    print(f"portal assets: {len(written)} file(s)/folder(s) installed in {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
