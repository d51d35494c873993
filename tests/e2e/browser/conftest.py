"""The web app served by a real ``python -m ui`` process, and a real headless Chromium to drive it.

Session fixtures: Chromium itself (Debian's ``chromium`` package, installed with apt-get when the
machine lacks it), one installation in a temp dir (its own users, ERP events off, a seeded ERP)
served on a free port, and one browser. Each test gets a fresh browser context and page; a failed
test leaves a screenshot of where it stopped in ``reports/screenshots/`` and, at the end of the
session, the server's log is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from agent.passwords import hash_password
from tests.conftest import REPO
from tests.e2e.browser.helpers import SCREENSHOTS, STEP, assert_no_traceback

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}


@dataclass(frozen=True)
class Person:
    name: str
    roles: tuple[str, ...]
    default_cost_center: str | None = None


# Who signs in during the tests. alice is a clerk who also approves others' requests, so trying
# to approve her own is meaningful. Cost centers as in agent/config/demo_users.toml (where bob and
# dave have none).
USERS: dict[str, Person] = {
    "alice": Person("Alice Almeida", ("clerk", "approver"), "CC300"),
    "bob": Person("Bob Barros", ("approver",)),
    "carol": Person("Carol Costa", ("approver", "clerk"), "CC110"),
    "dave": Person("Dave Dias", ("auditor",)),
}


Say = Callable[[str], None]


def password_of(user: str) -> str:
    return f"{user}-e2e-browser"


# ---------------------------------------------------------------- progress printed past capture


@pytest.fixture(scope="session")
def say(request: pytest.FixtureRequest) -> Say:
    """Print a progress line even while pytest captures output."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def _say(line: str) -> None:
        if capture is None:
            print(line, flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(f"\n[browser e2e] {line}", end="", flush=True)

    return _say


# ---------------------------------------------------------------- Chromium


def _apt_get(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run apt-get non-interactively; a hang ends as a failed run (exit 124), not a traceback."""
    command = ["apt-get", *args]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(
            command, 124, "", f"apt-get {' '.join(args)} took over {timeout:.0f} s"
        )


def _tail(result: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    return "\n".join((result.stdout + result.stderr).strip().splitlines()[-lines:])


def ensure_chromium(say: Say) -> Path:
    """Debian's Chromium at /usr/bin/chromium, installed with apt-get (as root) when it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    how = "install it with `sudo apt-get install -y chromium` (Debian/Ubuntu) and run the tests again"
    if shutil.which("apt-get") is None:
        pytest.fail(
            f"Chromium is missing at {CHROMIUM} and this machine has no apt-get: {how}", pytrace=False
        )
    if os.geteuid() != 0:
        pytest.fail(
            f"Chromium is missing at {CHROMIUM} and the tests are not running as root: {how}", pytrace=False
        )
    started = time.monotonic()
    say(f"{CHROMIUM} is missing: installing Debian's chromium with apt-get (about 25 s)…")
    result = _apt_get("install", "-y", "chromium")
    if result.returncode != 0:
        say("apt-get install failed; running apt-get update and trying once more…")
        update = _apt_get("update")
        if update.returncode != 0:
            say(f"apt-get update failed too:\n{_tail(update)}")
        result = _apt_get("install", "-y", "chromium")
    if result.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(
            f"apt-get install -y chromium failed (exit {result.returncode}); {how}.\n{_tail(result)}",
            pytrace=False,
        )
    say(f"chromium installed in {time.monotonic() - started:.0f} s")
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium(say: Say) -> Path:
    return ensure_chromium(say)


# ---------------------------------------------------------------- the installation and its server


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes), which keeps this dependency-free.
    return json.dumps(value, ensure_ascii=False)


def write_users_file(path: Path) -> None:
    """The users of the tests, each with a fresh password hash (``password_of``)."""
    lines = ["# Users of the browser tests (written by tests/e2e/browser/conftest.py).", ""]
    for user_id, person in USERS.items():
        lines += [
            f"[users.{user_id}]",
            f"name = {_toml_string(person.name)}",
            f'email = "{user_id}@example.com"',
            f"password_hash = {_toml_string(hash_password(password_of(user_id)))}",
            f"roles = [{', '.join(_toml_string(role) for role in person.roles)}]",
        ]
        if person.default_cost_center is not None:
            lines.append(f"default_cost_center = {_toml_string(person.default_cost_center)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_events_file_all_disabled(path: Path) -> None:
    """The bundled events file, every kind off: the app's agent files nothing on its own."""
    bundled = tomllib.loads((REPO / "agent" / "config" / "events.toml").read_text(encoding="utf-8"))
    lines = ["# Every ERP event kind off: no background runs during the browser tests.", ""]
    for kind, entry in bundled["events"].items():
        lines += [
            f"[events.{kind}]",
            f"owner = {_toml_string(str(entry['owner']))}",
            f"request = {_toml_string(str(entry['request']))}",
            "enabled = false",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(root: Path) -> dict[str, str]:
    """A fresh environment: none of the caller's Countersign, OpenAI or Streamlit settings. (The
    server runs in the repository, so a developer's ``.env`` there still applies to settings
    not pinned here.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "OPENAI_", "STREAMLIT_"))}
    env.update(
        COUNTERSIGN_DATA_DIR=str(root / "var"),
        COUNTERSIGN_USERS_FILE=str(root / "users.toml"),
        COUNTERSIGN_EVENTS_FILE=str(root / "events.toml"),
        COUNTERSIGN_MODEL="offline",
        COUNTERSIGN_WORKERS="embedded",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path

    def log_tail(self, lines: int = 80) -> str:
        parts = []
        if self.log.exists():
            parts.append(f"--- server output ({self.log}) ---")
            parts += self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        app_log = self.data_dir / "logs" / "countersign.jsonl"
        if app_log.exists():
            parts.append(f"--- app log ({app_log}), errors and warnings ---")
            parts += [
                line
                for line in app_log.read_text(encoding="utf-8", errors="replace").splitlines()
                if '"error"' in line.lower() or '"warning"' in line.lower()
            ][-lines:]
        return "\n".join(parts)


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as answer:
            return bool(answer.status == 200 and answer.read().decode().strip() == "ok")
    except OSError:
        return False


def start_server(root: Path, say: Say, timeout: float = 60) -> Server:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui", "--port", str(port), "--address", "127.0.0.1", "--no-open"],
            cwd=REPO,
            env=server_env(root),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(base_url, process, log, root / "var")
    deadline = time.monotonic() + timeout
    while not _healthy(base_url):
        if process.poll() is not None:
            pytest.fail(f"the web app exited with {process.returncode} before serving\n{server.log_tail()}")
        if time.monotonic() > deadline:
            stop_server(server)
            pytest.fail(f"the web app was not healthy within {timeout:.0f} s\n{server.log_tail()}")
        time.sleep(0.2)
    say(f"web app serving at {base_url} (data in {root})")
    return server


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


@pytest.fixture(scope="module")
def app_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seeded_erp_template: Path,
    say: Say,
) -> Iterator[Server]:
    """One installation (users, events off, a seeded ERP) served by ``python -m ui``."""
    root = tmp_path_factory.mktemp("countersign-ui")
    (root / "var").mkdir()
    shutil.copy(seeded_erp_template, root / "var" / "legacy_erp.db")
    write_users_file(root / "users.toml")
    write_events_file_all_disabled(root / "events.toml")
    server = start_server(root, say)
    failed_before = request.session.testsfailed
    yield server
    stop_server(server)
    if request.session.testsfailed > failed_before:
        say(f"some browser test failed; the web app's log:\n{server.log_tail()}\n")


@pytest.fixture(scope="module")
def base_url(app_server: Server) -> str:
    return app_server.base_url


# ---------------------------------------------------------------- the browser


# Module scope, never session: the sync API keeps an asyncio loop running in this thread while it
# is open, and every later test that calls asyncio.run() would fail ("cannot be called from a
# running event loop").
@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright, chromium: Path) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(
        executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-US")
    context.set_default_timeout(STEP)
    yield context
    context.close()


_PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_PHASES, {})[report.when] = report
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest, context: BrowserContext) -> Iterator[Page]:
    """A fresh tab; a failed test leaves ``reports/screenshots/<test>-failed.png`` of where it stopped."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    call = request.node.stash.get(_PHASES, {}).get("call")
    if call is not None and call.passed:
        assert_no_traceback(page)  # where the test ended, too
    if call is not None and call.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{request.node.name}-failed.png"
        try:
            page.screenshot(path=shot)
            print(f"screenshot of the failure: {shot}")
        except Exception as exc:  # the page may be gone; the test's own error matters more
            print(f"no screenshot of the failure: {exc}")
        if errors:
            print("JavaScript errors in the page:\n" + "\n".join(errors))
