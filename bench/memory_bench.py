"""Figure 7, peak memory of a real web-app process and a real worker process against a data
directory holding 10,000 pending proposals (each with its interrupted conversation).

* UI: ``countersign ui --no-open --no-seed --port <free>`` (Streamlit in its own process; the CLI
  execs into it). Once ``/_stcore/health`` answers, a headless Chromium (Playwright, Debian's
  ``/usr/bin/chromium``) opens the app, signs in as bob and opens the Approvals inbox, waiting for
  its first rows: the page's script really runs in the server process, as for a person. Without
  Chromium, a plain HTTP GET of the page is made instead (Streamlit then runs no script: said so).
* worker: ``countersign worker --role all`` for a few seconds once it says it runs (writer, result consumer, agent
  worker, the standing jobs: expiry and reconciliation read every pending proposal), then SIGTERM.

Peak RSS is VmHWM from ``/proc/<pid>/status``, summed over the process and its children, read
just before the process is stopped (VmHWM only grows).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import Outcome, Row, say
from bench.inbox_bench import filled_installation

NAME = "memory"
CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_peak_kib(pid: int) -> tuple[int, int]:
    """Summed VmHWM of ``pid`` and its descendants (KiB), and how many processes that was."""
    total, count, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
                    count += 1
        todo += _children(current)
    return total, count


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "OPENAI_"))}
    env["COUNTERSIGN_DATA_DIR"] = str(data_dir)
    env["COUNTERSIGN_RECONCILE_INTERVAL_SECONDS"] = "3600"
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _load_inbox(url: str) -> str:
    """Open the inbox as bob in a headless Chromium; how the page was loaded, in a few words."""
    if not CHROMIUM.exists():
        urllib.request.urlopen(url, timeout=30).read()
        return "HTTP GET only (no Chromium here: the page script did not run)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(url, timeout=60_000)
            page.locator(".st-key-sign_in_user input").fill("bob", timeout=60_000)
            page.locator(".st-key-sign_in_password input").fill("bob-demo")
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for(timeout=60_000)
            page.get_by_test_id("stSidebar").get_by_role("link", name="Approvals inbox").click()
            page.locator("[class*='st-key-inbox-item-']").first.wait_for(timeout=180_000)
        finally:
            browser.close()
    return "headless Chromium: sign in as bob, open the Approvals inbox, wait for its rows"


def measure_ui(data_dir: Path) -> dict[str, Any]:
    port = _free_port()
    command = [sys.executable, "-m", "agent.cli", "ui", "--no-open", "--no-seed", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=REPO, env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the web app did not start") from None
                time.sleep(0.3)
        idle_kib, _ = tree_peak_kib(process.pid)
        started = time.perf_counter()
        how = _load_inbox(f"http://127.0.0.1:{port}/")
        load_seconds = time.perf_counter() - started
        time.sleep(1.0)
        peak_kib, processes = tree_peak_kib(process.pid)
    finally:
        _stop(process)
    return {
        "peak_mib": round(peak_kib / 1024, 1),
        "peak_before_page_mib": round(idle_kib / 1024, 1),
        "processes": processes,
        "how": how,
        "inbox_load_seconds": round(load_seconds, 2),
    }


def measure_worker(data_dir: Path, seconds: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "agent.cli", "worker", "--role", "all"]
    process = subprocess.Popen(
        command, cwd=REPO, env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        started = process.stdout.readline()  # "worker (all) on …": the service is built, threads run
        if not started.startswith(b"worker ("):
            raise RuntimeError("the worker did not start")
        time.sleep(seconds)
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited early with code {process.returncode}")
        peak_kib, processes = tree_peak_kib(process.pid)
    finally:
        _stop(process)
    return {"peak_mib": round(peak_kib / 1024, 1), "processes": processes, "ran_seconds": seconds}


def run(pending: int, worker_seconds: float = 10.0) -> Outcome:
    data_dir = filled_installation(pending)
    say("memory: web app")
    ui = measure_ui(data_dir)
    say("memory: worker")
    worker = measure_worker(data_dir, worker_seconds)
    rows = [
        Row(
            "7 peak memory (VmHWM)",
            f"web app (countersign ui), inbox of {pending:,} opened",
            f"{ui['peak_mib']:,.0f} MiB",
            f"{ui['peak_before_page_mib']:,.0f} MiB before the page",
            "none (report)",
        ),
        Row(
            "",
            f"worker (countersign worker --role all, {worker_seconds:.0f} s)",
            f"{worker['peak_mib']:,.0f} MiB",
        ),
    ]
    return Outcome(NAME, rows, {"pending": pending, "ui": ui, "worker": worker})
