"""What every scenario of the benchmark suite shares: servers, timing, memory, statistics.

Servers are separate processes (uvicorn on 127.0.0.1, one worker, each in its own virtual
environment), started and stopped here. Peak memory of a process is its ``VmHWM`` (peak
resident set) from ``/proc``; it is reset between measurements by writing ``5`` to
``/proc/PID/clear_refs``. Commands run to completion report their peak through ``wait4``.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / ".data"
PEERS_PYTHON = BENCH / ".venv-peers" / "bin" / "python"
HUB_PYTHON = REPO / ".venv" / "bin" / "python"


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median(values: Sequence[float]) -> float:
    """Median (NaN for no values)."""
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The *q* quantile (0..1) by the nearest-rank rule (NaN for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a running process since its last reset (MB)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak(pid: int) -> None:
    """Reset a process's peak resident memory (``clear_refs`` 5), where the kernel allows."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def drop_cache(paths: Sequence[Path]) -> None:
    """Evict the files under *paths* from the page cache (only these files, not the machine's)."""
    for root in paths:
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for path in files:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


@dataclass
class Run:
    """A finished command: wall time (s), peak memory (MB), exit status and output."""

    seconds: float
    peak_mb: float
    returncode: int
    output: str = ""


def run_command(
    args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Run:
    """Run a command to completion; return its wall time and peak memory (its whole tree)."""
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(args),
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, output)


@dataclass
class Server:
    """A server process on loopback, started from *args* and ready when *probe* answers."""

    name: str
    args: list[str]
    probe: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def base(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> Server:
        """Start the process and wait until the probe URL answers 200."""
        self.log = DATA / "logs" / f"{self.name}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        args = [a.replace("{port}", str(self.port)) for a in self.args]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                args,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        url = self.base + self.probe
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(url, timeout=30).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f} s")

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and its children."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=15)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def uvicorn(
    name: str,
    python: Path,
    app: str,
    probe: str,
    env: dict[str, str] | None = None,
    factory: bool = False,
) -> Server:
    """A uvicorn server of *app* (``module:attribute``, or a factory) run by *python*."""
    port = free_port()
    args = [
        str(python),
        "-m",
        "uvicorn",
        *(["--factory"] if factory else []),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return Server(name, args, probe, dict(env or {}), BENCH, port)


def hub_server(name: str, home: Path) -> Server:
    """The hub itself (``sco serve``) on the hub in *home*."""
    port = free_port()
    args = [
        str(REPO / ".venv" / "bin" / "sco"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    env = {"SCO_HOME": str(home), "SCO_MAX_REQUEST_BYTES": str(8 * 1024**3)}
    return Server(name, args, "/", env, REPO, port)


def timed_get(client: httpx.Client, url: str, **params: Any) -> tuple[float, int, int]:
    """GET *url*; return (seconds, status, body bytes)."""
    start = time.perf_counter()
    response = client.get(url, params=params or None)
    body = response.content
    return time.perf_counter() - start, response.status_code, len(body)


def alternate(
    contenders: dict[str, Callable[[int], float]], rounds: int, items: int
) -> dict[str, list[float]]:
    """Time every contender on the same items, alternating A B A B within each round.

    ``contenders[name](i)`` measures item *i* and returns seconds. Each round runs every item
    once for every contender, interleaved item by item, so slow drifts of a shared machine
    touch all contenders alike.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _round in range(rounds):
        for i in range(items):
            for name, measure in contenders.items():
                times[name].append(measure(i))
    return times


@dataclass
class Row:
    """One line of the results table."""

    scenario: str
    size: str
    contender: str
    metric: str
    value: float
    unit: str
    ratio: float | None = None  # ours / theirs or theirs / ours, as *ratio_note* says
    floor_x: float | None = None  # this figure / the physical floor
    peak_mb: float | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def log(message: str) -> None:
    """Print a progress line (stderr) with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
