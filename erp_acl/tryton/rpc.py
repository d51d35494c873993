"""A small JSON-RPC client for Tryton (8.2) over the standard library.

Tryton's JSON-RPC lives at ``http://HOST:PORT/DATABASE/rpc/``. ``common.db.login`` answers
``[user_id, token, bus_url]``; every later call carries ``Authorization: Session
base64(login:user_id:token)``. Model methods are called as ``model.<model>.<method>`` with the
call's context as the last positional parameter; wizards as ``wizard.<wizard>.<method>``.

Values Python's JSON cannot carry travel as tagged objects (``{"__class__": "Decimal",
"decimal": "12.50"}``, ``date``, ``datetime``, ``time``, ``timedelta``, ``bytes``); ``encode`` and
``decode`` convert them both ways, so callers only ever see ``Decimal``, ``date``... .

Errors become the anti-corruption layer's errors, each with one line of text: an unreachable
server is ``ErpUnavailable``; a Tryton ``UserError`` is ``ValidationFailed``; a ``UserWarning``
is ``TrytonWarning`` (a ``ValidationFailed`` naming the warning, so a caller may accept it); a
refused login is ``LoginRefused``. An expired session is renewed by logging in again, once.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from erp_acl.errors import ErpError, ErpUnavailable, ValidationFailed

__all__ = [
    "LoginRefused",
    "TrytonRpc",
    "TrytonWarning",
    "decode",
    "encode",
    "one_line",
]

Domain = Sequence[Any]
"""A Tryton search domain, e.g. ``[("code", "=", "F00001")]``."""


class LoginRefused(ErpError):
    """Tryton refused the user name or password (or the database does not exist)."""


class TrytonWarning(ValidationFailed):
    """Tryton asked the user to confirm a warning; ``name`` identifies it (see ``accept_warning``)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__([problem])
        self.name = name


def one_line(text: object, limit: int = 300) -> str:
    """Text squeezed to a single line of at most ``limit`` characters."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---- Tryton's JSON -------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A value made JSON-ready the way Tryton's ``JSONEncoder`` writes it (recursively)."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    return value


def _decode_object(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "time":
        return time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def decode(text: str | bytes) -> Any:
    """Parse Tryton's JSON, turning tagged objects back into Python values."""
    return json.loads(text, object_hook=_decode_object)


# ---- the client ----------------------------------------------------------------------------------


class TrytonRpc:
    """A session with one Tryton database, shared safely by threads.

    Every call opens its own HTTP connection; the only shared state is the session, which a lock
    renews once for every thread that found it expired."""

    def __init__(
        self,
        base_url: str,
        database: str,
        user: str,
        password: str,
        *,
        language: str = "en",
        timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.user = user
        self._password = password
        self.language = language
        self.timeout = timeout
        self.user_id: int | None = None
        self._token: str | None = None
        self._ids = itertools.count(1)
        self._session_lock = threading.RLock()
        self.context: dict[str, Any] = {}
        """The user's context (company, language...), sent with every call; see ``reload_context``."""

    def __repr__(self) -> str:  # never shows the password or the token
        return f"TrytonRpc({self.url!r}, user={self.user!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.database}/rpc/"

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    # -- transport

    def _post(self, url: str, method: str, params: Sequence[Any], authorize: bool) -> Any:
        body = json.dumps({"id": next(self._ids), "method": method, "params": encode(params)}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authorize and self._token is not None:
            secret = f"{self.user}:{self.user_id}:{self._token}".encode()
            headers["Authorization"] = "Session " + base64.b64encode(secret).decode("ascii")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = decode(response.read())
        except urllib.error.HTTPError as exc:
            raise _HttpFailure(exc.code, one_line(_http_reason(exc))) from exc
        except OSError as exc:  # URLError, refused connections, timeouts
            reason = getattr(exc, "reason", exc)
            raise ErpUnavailable(
                f"the Tryton ERP at {self.base_url} is unreachable ({one_line(reason)})"
            ) from exc
        except ValueError as exc:
            raise ErpError(f"the Tryton ERP at {self.base_url} answered something other than JSON") from exc
        if not isinstance(payload, dict):
            raise ErpError(f"the Tryton ERP at {self.base_url} answered {method} with an unexpected shape")
        if "error" in payload and payload["error"] is not None:
            raise _tryton_error(method, payload["error"])
        return payload.get("result")

    # -- session

    def login(self) -> None:
        """Open a session (``common.db.login``); ``LoginRefused`` if the credentials are wrong."""
        with self._session_lock:
            self._login()

    def _renew(self, expired: str | None) -> None:
        """Log in again unless another thread already replaced the ``expired`` token."""
        with self._session_lock:
            if self._token is None or self._token == expired:
                self._login()

    def _login(self) -> None:
        try:
            result = self._post(
                self.url,
                "common.db.login",
                [self.user, {"password": self._password}, self.language],
                authorize=False,
            )
        except _HttpFailure as exc:
            if exc.status == HTTPStatus.UNAUTHORIZED:
                raise LoginRefused(
                    f"Tryton refused the login of {self.user!r} on database {self.database!r}: "
                    "wrong user name or password"
                ) from None
            if exc.status == HTTPStatus.NOT_FOUND:
                raise LoginRefused(f"Tryton at {self.base_url} has no database {self.database!r}") from None
            raise self._http_error("common.db.login", exc) from None
        self.user_id, self._token = int(result[0]), str(result[1])
        self.reload_context()

    def reload_context(self) -> dict[str, Any]:
        """Fetch the user's context again (needed after changing the user's company)."""
        self.context = dict(self.call("model.res.user.get_preferences", True, {}))
        return self.context

    def logout(self) -> None:
        """Close the session (harmless if none is open or the server is gone)."""
        if self._token is None:
            return
        try:
            self.call("common.db.logout")
        except ErpError:
            pass
        finally:
            self._token = None
            self.user_id = None

    def server_version(self) -> str:
        """The server's series (e.g. ``"8.2"``); needs no session: a cheap "is it up?" probe."""
        try:
            return str(self._post(f"{self.base_url}/rpc/", "common.server.version", [], authorize=False))
        except _HttpFailure as exc:
            raise self._http_error("common.server.version", exc) from None

    # -- calls

    def call(self, method: str, *params: Any) -> Any:
        """Call any RPC method with raw parameters; logs in first, and again once if the session expired."""
        if self._token is None:
            self._renew(None)
        for attempt in (1, 2):
            token = self._token
            try:
                return self._post(self.url, method, params, authorize=True)
            except _HttpFailure as exc:
                if exc.status == HTTPStatus.UNAUTHORIZED and attempt == 1:
                    self._renew(token)
                    continue
                raise self._http_error(method, exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def execute(self, model: str, method: str, *args: Any, context: Mapping[str, Any] | None = None) -> Any:
        """Call ``model.<model>.<method>(*args)`` with the session's context (plus ``context``)."""
        if self._token is None:
            self._renew(None)
        return self.call(f"model.{model}.{method}", *args, {**self.context, **(context or {})})

    def search(
        self,
        model: str,
        domain: Domain,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        ids = self.execute(model, "search", list(domain), offset, limit, order, context=context)
        return [int(i) for i in ids]

    def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Records in the order of ``ids``."""
        rows: list[dict[str, Any]] = self.execute(model, "read", list(ids), list(fields), context=context)
        by_id = {row["id"]: row for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def search_read(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.execute(
            model, "search_read", list(domain), offset, limit, order, list(fields), context=context
        )
        return rows

    def create(
        self, model: str, values: Sequence[Mapping[str, Any]], *, context: Mapping[str, Any] | None = None
    ) -> list[int]:
        ids = self.execute(model, "create", [dict(v) for v in values], context=context)
        return [int(i) for i in ids]

    def write(
        self,
        model: str,
        ids: Sequence[int],
        values: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.execute(model, "write", list(ids), dict(values), context=context)

    def button(
        self, model: str, name: str, ids: Sequence[int], *, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Press a workflow button (``quote``, ``confirm``, ...) on records."""
        return self.execute(model, name, list(ids), context=context)

    def accept_warning(self, warning: TrytonWarning) -> None:
        """Record that the user accepts ``warning``, so the call that raised it passes when repeated."""
        self.create("res.user.warning", [{"user": self.user_id, "name": warning.name, "always": False}])

    def start_wizard(self, wizard: str, *, context: Mapping[str, Any] | None = None) -> int:
        """Open a wizard session (``wizard.<wizard>.create``); close it with ``end_wizard``."""
        session, _start, _end = self.call(f"wizard.{wizard}.create", {**self.context, **(context or {})})
        return int(session)

    def wizard_step(
        self,
        wizard: str,
        session: int,
        state: str,
        data: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Execute ``state`` (a button's target) with ``data``: view state name -> field values."""
        ctx = {**self.context, **(context or {})}
        return dict(self.call(f"wizard.{wizard}.execute", session, dict(data), state, ctx))

    def end_wizard(self, wizard: str, session: int) -> None:
        self.call(f"wizard.{wizard}.delete", session, self.context)

    def run_wizard(
        self,
        wizard: str,
        steps: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Run a wizard through ``(state, data)`` steps in one session; returns each step's answer."""
        session = self.start_wizard(wizard, context=context)
        try:
            return [self.wizard_step(wizard, session, state, data, context=context) for state, data in steps]
        finally:
            self.end_wizard(wizard, session)

    def _http_error(self, method: str, exc: _HttpFailure) -> ErpError:
        if exc.status == HTTPStatus.TOO_MANY_REQUESTS:
            return ErpUnavailable(f"the Tryton ERP at {self.base_url} is rate-limiting requests; retry later")
        if exc.status in (HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.GATEWAY_TIMEOUT):
            return ErpUnavailable(f"the Tryton ERP at {self.base_url} is unavailable (HTTP {exc.status})")
        if exc.status == HTTPStatus.UNAUTHORIZED:
            return LoginRefused(f"Tryton refused the session of {self.user!r} for {method}")
        if exc.status == HTTPStatus.FORBIDDEN:
            return ErpError(f"Tryton forbids {method} to {self.user!r}: {exc.reason}")
        return ErpError(f"Tryton failed on {method} (HTTP {exc.status}): {exc.reason}")


class _HttpFailure(Exception):
    """An HTTP error status, before it is mapped to an ``ErpError`` (never leaves this module)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason


def _http_reason(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read().decode("utf-8", "replace")
    except OSError:
        body = ""
    # werkzeug's error pages: <title>..</title><h1>..</h1><p>description</p>
    match = re.search(r"<p>(.*?)</p>", body, re.S)
    return html.unescape(match.group(1)) if match else (body or str(exc.reason))


def _tryton_error(method: str, error: Any) -> ErpError:
    """Map the ``error`` member of a JSON-RPC answer to the layer's error types."""
    if isinstance(error, list | tuple) and len(error) == 2:
        kind = error[0]
        args = list(error[1]) if isinstance(error[1], list | tuple) else [error[1]]
        if kind == "UserError":
            message, description = [*args, "", ""][:2]
            text = one_line(message) + (f" ({one_line(description)})" if description else "")
            return ValidationFailed([text])
        if kind == "UserWarning":
            name, message, description = [*args, "", "", ""][:3]
            text = one_line(message) + (f" ({one_line(description)})" if description else "")
            return TrytonWarning(str(name), text)
        if kind == "ConcurrencyException":
            return ErpError(f"Tryton refused {method}: the record changed meanwhile ({one_line(args[0])})")
        if kind == "LoginException":
            return LoginRefused(f"Tryton asks for more login information for {method}: {one_line(args)}")
    if isinstance(error, list | tuple) and error and isinstance(error[0], str):
        # Any other server exception: [str(exception), traceback]; the first part is the message.
        return ErpError(f"Tryton failed on {method}: {one_line(error[0])}")
    return ErpError(f"Tryton failed on {method}: {one_line(error)}")
