"""A small, real OpenAI-compatible HTTP server for tests: the real ``openai``/``ChatOpenAI`` client
talks to it over a socket, so nothing in the client is patched.

It serves ``POST /v1/chat/completions`` (and ``/chat/completions``) as JSON or, with
``"stream": true``, as server-sent events in the exact chunk shapes OpenAI uses, and
``GET /v1/models``. Answers come from a *script*: a list of replies consumed in order, or a
callable that decides from the request body. Every request is recorded for assertions::

    with OpenAIStub([tool_call("check_stock", {"product_code": "HB-M8-40"}), "All good."]) as stub:
        model = ChatOpenAI(base_url=stub.base_url, api_key="sk-test", model="test-model")
        ...
        assert stub.requests[1].tool_results[0]["content"] ...

A script item (or what the callable returns) may be:

- ``str``: a plain text answer (``finish_reason="stop"``);
- ``{"name": ..., "arguments": {...}}`` or a list of those: tool calls (``finish_reason="tool_calls"``);
- a :class:`Reply` (text and/or tool calls, optional usage) or a :class:`Failure` (an HTTP error).

When the script is exhausted the stub answers HTTP 400 (not retried by the SDK) with an error
saying so, and records the problem in :attr:`OpenAIStub.errors`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Failure",
    "OpenAIStub",
    "RecordedRequest",
    "Reply",
    "ScriptItem",
    "ToolCall",
    "text",
    "tool_call",
    "tool_calls",
]

CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODELS_PATHS = frozenset({"/v1/models", "/models"})


# ---- what the stub answers -------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """One function call the scripted model makes. ``arguments`` may be a dict or a raw JSON string
    (a string lets a test send malformed arguments on purpose)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    """One assistant turn: text, tool calls, or both."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None  # default: "tool_calls" if there are calls, else "stop"
    prompt_tokens: int | None = None  # default: a rough count of the request
    completion_tokens: int | None = None  # default: a rough count of the answer

    @property
    def resolved_finish_reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


@dataclass(frozen=True)
class Failure:
    """An HTTP error answer in OpenAI's error shape (e.g. 429, 500). Note the SDK retries 408, 409,
    429 and 5xx up to ``max_retries`` times, each retry consuming a further script item."""

    status: int = 500
    message: str = "scripted failure"
    type: str = "server_error"
    code: str | None = None


ScriptItem = Reply | Failure | str | dict[str, Any] | list[dict[str, Any]] | ToolCall


def text(content: str) -> Reply:
    """A plain text answer."""
    return Reply(content=content)


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None) -> Reply:
    """An answer that calls one tool."""
    return Reply(tool_calls=(ToolCall(name, {} if arguments is None else arguments, id),))


def tool_calls(*calls: ToolCall | dict[str, Any], content: str | None = None) -> Reply:
    """An answer that calls several tools (parallel tool calls), optionally with some text."""
    return Reply(content=content, tool_calls=tuple(_as_tool_call(c) for c in calls))


def _as_tool_call(call: ToolCall | dict[str, Any]) -> ToolCall:
    if isinstance(call, ToolCall):
        return call
    if not isinstance(call, dict) or "name" not in call:
        raise TypeError(f"a tool call is ToolCall or {{'name': ..., 'arguments': {{...}}}}, not {call!r}")
    return ToolCall(call["name"], call.get("arguments", call.get("args", {})), call.get("id"))


def as_reply(item: ScriptItem) -> Reply | Failure:
    """Normalise a script item (see the module docstring) to a Reply or Failure."""
    if isinstance(item, Reply | Failure):
        return item
    if isinstance(item, str):
        return Reply(content=item)
    if isinstance(item, ToolCall | dict):
        return Reply(tool_calls=(_as_tool_call(item),))
    if isinstance(item, list):
        return Reply(tool_calls=tuple(_as_tool_call(c) for c in item))
    raise TypeError(f"cannot turn {item!r} into a scripted reply")


# ---- what the stub saw -----------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the stub received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    raw_body: bytes
    body: Any  # parsed JSON, or None when the body was empty or not JSON

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools", []) or []) if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        """Names of the functions offered to the model in this request."""
        return [t.get("function", {}).get("name", "") for t in self.tools]

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The ``role: tool`` messages of the request, in order."""
        return [m for m in self.messages if m.get("role") == "tool"]

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    def text(self) -> str:
        """Everything sent (request line, headers, body) as one string, for scanning for secrets."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.raw_body.decode('utf-8', 'replace')}"


# ---- the server ------------------------------------------------------------------------------


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _rough_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, ensure_ascii=False)) // 4)


def _split(value: str, parts: int) -> list[str]:
    """``value`` in ``parts`` non-empty pieces (fewer when it is shorter)."""
    if not value:
        return []
    size = max(1, -(-len(value) // parts))
    return [value[i : i + size] for i in range(0, len(value), size)]


def _text_pieces(content: str) -> list[str]:
    """Word-ish pieces, as a model streams them."""
    pieces: list[str] = []
    for index, word in enumerate(content.split(" ")):
        pieces.append(word if index == 0 else " " + word)
    return [p for p in pieces if p]


def validate_tool_messages(messages: Sequence[dict[str, Any]]) -> str | None:
    """The error OpenAI gives for a broken tool-call/tool-result pairing, or None when it is fine."""
    open_ids: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_ids:
                return (
                    f"Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    f"message with 'tool_calls' (messages[{index}], tool_call_id={call_id!r})."
                )
            open_ids.remove(call_id)
            continue
        if open_ids:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to "
                f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                f"{', '.join(open_ids)}"
            )
        if role == "assistant":
            open_ids = [c.get("id") for c in message.get("tool_calls") or []]
    if open_ids:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages responding to "
            f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
            f"{', '.join(open_ids)}"
        )
    return None


class OpenAIStub:
    """An OpenAI-compatible chat server on ``127.0.0.1:<free port>``, run in a background thread.

    ``script``: a sequence of script items consumed in order, or a callable taking the request body
    (a dict) and returning a script item. ``api_key``: when given, requests must carry
    ``Authorization: Bearer <api_key>`` (else 401). ``validate_tools``: reject, as OpenAI does, tool
    messages that do not answer a preceding assistant ``tool_calls`` and tool calls left unanswered.
    ``model_ids``: what ``GET /v1/models`` lists.
    """

    def __init__(
        self,
        script: Iterable[ScriptItem] | Callable[[dict[str, Any]], ScriptItem] = (),
        *,
        api_key: str | None = None,
        validate_tools: bool = True,
        model_ids: Sequence[str] = ("test-model",),
        chunk_delay: float = 0.0,
    ) -> None:
        self._lock = threading.Lock()
        self._responder: Callable[[dict[str, Any]], ScriptItem] | None = None
        self._queue: list[ScriptItem] = []
        if callable(script):
            self._responder = script
        else:
            self._queue = list(script)
        self._requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self.api_key = api_key
        self.validate_tools = validate_tools
        self.model_ids = tuple(model_ids)
        self.chunk_delay = chunk_delay
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> OpenAIStub:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="openai-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stub is not running; call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give the client as ``base_url`` (ends in ``/v1``)."""
        return f"{self.root_url}/v1"

    # ---- script ------------------------------------------------------------------------------

    def enqueue(self, *items: ScriptItem) -> None:
        """Append replies to the script (only for a list script)."""
        with self._lock:
            if self._responder is not None:
                raise RuntimeError("this stub answers with a callable; it has no queue")
            self._queue.extend(items)

    @property
    def remaining(self) -> int:
        """Scripted replies not yet consumed."""
        with self._lock:
            return len(self._queue)

    def _next_reply(self, body: dict[str, Any]) -> Reply | Failure | None:
        with self._lock:
            responder = self._responder
            if responder is None:
                return as_reply(self._queue.pop(0)) if self._queue else None
        return as_reply(responder(json.loads(json.dumps(body))))

    # ---- records -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received, in order."""
        return [r for r in self.requests if r.path in CHAT_PATHS and r.method == "POST"]

    @property
    def bodies(self) -> list[Any]:
        """The parsed bodies of the chat-completion requests, in order."""
        return [r.body for r in self.chat_requests]

    @property
    def last(self) -> RecordedRequest:
        chats = self.chat_requests
        if not chats:
            raise AssertionError("the stub received no chat-completion request")
        return chats[-1]

    @property
    def errors(self) -> list[str]:
        """Problems the stub answered with an error (exhausted script, invalid request...)."""
        with self._lock:
            return list(self._errors)

    def traffic_text(self) -> str:
        """All requests as text (headers included), to assert a secret never left the process."""
        return "\n\n".join(r.text() for r in self.requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)

    # ---- answers -----------------------------------------------------------------------------

    def handle_chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | list[dict[str, Any]]]:
        """The HTTP status and either a JSON completion or the list of stream chunks."""
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return self._fail(
                400, "'model' (string) and 'messages' (array) are required", "invalid_request_error"
            )
        if self.validate_tools:
            problem = validate_tool_messages(body["messages"])
            if problem is not None:
                return self._fail(400, problem, "invalid_request_error")
        try:
            reply = self._next_reply(body)
        except Exception as exc:  # a bug in the test's responder: say so instead of hanging the client
            return self._fail(400, f"stub responder raised {type(exc).__name__}: {exc}", "stub_error")
        if reply is None:
            last = body["messages"][-1] if body["messages"] else None
            return self._fail(
                400, f"stub script exhausted; the last message was {json.dumps(last)[:300]}", "stub_error"
            )
        if isinstance(reply, Failure):
            error = {"message": reply.message, "type": reply.type, "param": None, "code": reply.code}
            return reply.status, {"error": error}
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return 200, self._chunks(body, reply, include_usage)
        return 200, self._completion(body, reply)

    def _fail(self, status: int, message: str, kind: str) -> tuple[int, dict[str, Any]]:
        self._error(message)
        return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}

    @staticmethod
    def _usage(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else _rough_tokens(body["messages"])
        answer = [reply.content, [(c.name, c.arguments_json()) for c in reply.tool_calls]]
        completion = reply.completion_tokens if reply.completion_tokens is not None else _rough_tokens(answer)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    @staticmethod
    def _with_ids(reply: Reply) -> list[tuple[str, ToolCall]]:
        return [(c.id or _call_id(), c) for c in reply.tool_calls]

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.content,
            "refusal": None,
            "annotations": [],
        }
        calls = self._with_ids(reply)
        if calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments_json()},
                }
                for call_id, c in calls
            ]
        return {
            "id": _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.resolved_finish_reason,
                }
            ],
            "usage": self._usage(body, reply),
            "service_tier": "default",
            "system_fingerprint": "fp_countersign_stub",
        }

    def _chunks(self, body: dict[str, Any], reply: Reply, include_usage: bool) -> list[dict[str, Any]]:
        completion_id, created, model = _completion_id(), int(time.time()), body["model"]

        def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_countersign_stub",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                out["usage"] = None
            return out

        chunks: list[dict[str, Any]] = []
        first: dict[str, Any] = {"role": "assistant", "content": "" if reply.content is not None else None}
        first["refusal"] = None
        chunks.append(chunk(first))
        for piece in _text_pieces(reply.content or ""):
            chunks.append(chunk({"content": piece}))
        for index, (call_id, call) in enumerate(self._with_ids(reply)):
            opening = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            chunks.append(chunk({"tool_calls": [opening]}))
            for piece in _split(call.arguments_json(), 3):
                chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        chunks.append(chunk({}, reply.resolved_finish_reason))
        if include_usage:
            final = chunk(None)
            final["choices"] = []
            final["usage"] = self._usage(body, reply)
            chunks.append(final)
        return chunks

    def models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "countersign-stub"}
                for model_id in self.model_ids
            ],
        }


def _handler_for(stub: OpenAIStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, as the real API
        server_version = "CountersignOpenAIStub/1.0"
        timeout = 30  # an idle keep-alive connection is closed after this many seconds

        def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures anyway
            return

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _record(self, raw: bytes) -> Any:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            path = self.path.split("?", 1)[0]
            stub._record(
                RecordedRequest(
                    self.command, path, {k.lower(): v for k, v in self.headers.items()}, raw, body
                )
            )
            return body

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _send_stream(self, chunks: list[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
            self.end_headers()
            for event in [*(f"data: {json.dumps(c)}\n\n" for c in chunks), "data: [DONE]\n\n"]:
                data = event.encode()
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                if stub.chunk_delay:
                    time.sleep(stub.chunk_delay)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _authorised(self) -> bool:
            if stub.api_key is None or self.headers.get("Authorization") == f"Bearer {stub.api_key}":
                return True
            message = "Incorrect API key provided."
            stub._error(f"{self.command} {self.path}: {message}")
            error = {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
            self._send_json(401, {"error": error})
            return False

        def _not_found(self) -> None:
            message = f"Unknown request URL: {self.command} {self.path}."
            stub._error(message)
            error = {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": "unknown_url",
            }
            self._send_json(404, {"error": error})

        def do_GET(self) -> None:
            self._record(b"")
            if self.path.split("?", 1)[0] not in MODELS_PATHS:
                self._not_found()
            elif self._authorised():
                self._send_json(200, stub.models())

        def do_POST(self) -> None:
            raw = self._read_body()
            body = self._record(raw)
            if self.path.split("?", 1)[0] not in CHAT_PATHS:
                self._not_found()
                return
            if not self._authorised():
                return
            if not isinstance(body, dict):
                self._send_json(
                    *stub._fail(400, "the request body must be a JSON object", "invalid_request_error")
                )
                return
            status, answer = stub.handle_chat(body)
            if status == 200 and isinstance(answer, list):
                self._send_stream(answer)
            else:
                self._send_json(status, answer)

        def do_DELETE(self) -> None:
            self._record(self._read_body())
            self._not_found()

        def do_PUT(self) -> None:
            self.do_DELETE()

        def do_PATCH(self) -> None:
            self.do_DELETE()

    return Handler


def running_stub(
    script: Iterable[ScriptItem] | Callable[[dict[str, Any]], ScriptItem] = (), **options: Any
) -> Iterator[OpenAIStub]:
    """A generator for a pytest fixture: ``yield from running_stub([...])``."""
    with OpenAIStub(script, **options) as stub:
        yield stub
