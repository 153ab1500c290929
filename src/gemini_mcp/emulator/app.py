"""The emulator's ASGI app: API routes, the recording and fault-injection layer, and the control plane.

Request flow: `Recorder` (record → scripted fault: hold, delay → latency → auth) → extension routes, Files API,
or the model dispatcher (`/{ver}/…models/{model}:{rpc}` → the registered handler for that rpc and model kind).
The Interactions API (`/{ver}[/projects/{p}/locations/{l}]/interactions…`, handlers/interactions.py) is recorded
as rpc `interactions.create|get|cancel|delete`; a background interaction is the operation `interactions/{id}`.

Control plane (keyless, under /_emulator; the same calls exist on `Emulator` for in-process use):
`GET health`; `GET|DELETE requests` (`?rpc=R&count=N&timeout=S` waits until N R-requests arrived: 408 if
not); `GET|POST|DELETE faults` and `POST faults:release` (`{"match": …}` optional: lets requests held by
`"hold": true` faults go on); `GET|POST config` (e.g. `{"hold_operations": true}`: operations started
afterwards run until finished on command; `{"operation_duration_s": 0}`: done at the first poll);
`GET operations` (`?count=N&timeout=S` waits until N exist); `POST operations/{id}:finish`,
`operations/{id}:fail` (`{"message", "code"}`), `operations/{id}:progress` (`{"percent": 40}`), and
`POST operations:finishAll`, where {id} is an operation's full name or its last path segment.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gemini_mcp.emulator import catalog, files, handlers, paths
from gemini_mcp.emulator.state import WAIT_S, Config, EmulatorState, Fault, Registry, RpcContext
from gemini_mcp.emulator.validate import MAX_REQUEST_BYTES
from gemini_mcp.emulator.wire import ApiError, error_response

T = TypeVar("T")
CONTROL_PREFIX = "/_emulator"
KEYLESS_PREFIXES = ("/_upload/", CONTROL_PREFIX)


def load_handlers(registry: Registry) -> None:
    """Import every module of `gemini_mcp.emulator.handlers` and let it register itself."""
    for module_info in sorted(pkgutil.iter_modules(handlers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{handlers.__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(registry)


def create_app(state: EmulatorState | None = None) -> Starlette:
    state = state or EmulatorState()
    registry = Registry()
    load_handlers(registry)

    async def dispatch(request: Request) -> Response:
        info = paths.parse(request.url.path)
        try:
            if info.collection != "models":
                raise ApiError(404, f"Method not found: {request.method} {request.url.path}", "NOT_FOUND")
            if info.rpc == "list" and request.method == "GET":
                return list_models(request, info)
            if info.rpc == "get" and request.method == "GET":
                return JSONResponse(model_spec(info).wire(info.backend))
            if request.method != "POST" or info.model is None or info.rpc is None:
                raise ApiError(404, f"Method not found: {request.method} {request.url.path}", "NOT_FOUND")
            spec = model_spec(info)
            if info.rpc not in spec.methods:
                raise ApiError(404, not_found_message(info), "NOT_FOUND")
            handler = registry.find(info.rpc, spec.kind)
            if handler is None:
                raise ApiError(501, f"emulator: {info.rpc} for {spec.kind} models is not implemented", "UNIMPLEMENTED")
            raw = await request.body()
            if len(raw) > MAX_REQUEST_BYTES:
                raise ApiError(400, f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes.")
            try:
                body = json.loads(raw or b"{}")
            except ValueError as exc:
                raise ApiError(400, f"Invalid JSON payload received. {exc}") from exc
            if not isinstance(body, dict):
                raise ApiError(400, "Invalid JSON payload received. Expected an object.")
            ctx = RpcContext(
                state=state,
                request=request,
                rpc=info.rpc,
                model=spec.id,
                spec=spec,
                backend=info.backend,
                api_version=info.api_version or "v1",
                body=body,
                base_url=str(request.base_url).rstrip("/"),
                registry=registry,
            )
            result = await handler(ctx)
            return result if isinstance(result, Response) else JSONResponse(result)
        except ApiError as exc:
            return exc.response()

    def model_spec(info: paths.PathInfo) -> catalog.ModelSpec:
        spec = catalog.lookup(info.model or "")
        if spec is None:
            raise ApiError(404, not_found_message(info), "NOT_FOUND")
        return spec

    def list_models(request: Request, info: paths.PathInfo) -> Response:
        size = int(request.query_params.get("pageSize") or request.query_params.get("page_size") or 50)
        start = int(request.query_params.get("pageToken") or 0)
        page = catalog.MODELS[start : start + size]
        key = "publisherModels" if info.backend == "vertex" else "models"
        body: dict[str, Any] = {key: [spec.wire(info.backend) for spec in page]}
        if start + size < len(catalog.MODELS):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)

    routes: list[BaseRoute] = [
        *control_routes(state),
        *registry.routes,
        *files.routes(state),
        Route("/{path:path}", dispatch, methods=["GET", "POST", "DELETE", "PATCH", "PUT"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    app.state.registry = registry
    app.add_middleware(Recorder, state=state)
    return app


def not_found_message(info: paths.PathInfo) -> str:
    return (
        f"models/{info.model} is not found for API version {info.api_version}, or is not supported for "
        f"{info.rpc}. Call ListModels to see the list of available models and their supported methods."
    )


def control_routes(state: EmulatorState) -> list[Route]:
    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_requests()
            return JSONResponse({"cleared": True})
        rpc = request.query_params.get("rpc") or None
        if "count" not in request.query_params:
            return JSONResponse({"requests": state.requests(rpc)})
        try:
            count, timeout = _wait_params(request)
            found = await _waiting(state, lambda gone: state.wait_for_requests(rpc, count, timeout, gone))
        except ValueError as exc:
            return error_response(400, f"bad wait: {exc}; use ?rpc=NAME&count=N&timeout=SECONDS")
        except TimeoutError as exc:
            return error_response(408, str(exc), "DEADLINE_EXCEEDED")
        return JSONResponse({"requests": found})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_faults()
            return JSONResponse({"cleared": True})
        if request.method == "GET":
            return JSONResponse({"faults": [asdict(f) for f in state.faults()]})
        try:
            spec = await request.json()
            fault = state.add_fault(Fault(**{k: v for k, v in spec.items() if k not in ("hits", "released")}))
        except (ValueError, TypeError) as exc:
            return error_response(400, f"bad fault: {exc}; fields: {[f.name for f in fields(Fault)]}")
        return JSONResponse(asdict(fault))

    async def release(request: Request) -> Response:
        body = await _optional_json(request)
        match = body.get("match") if isinstance(body, dict) else None
        return JSONResponse({"released": state.release_held(None if match is None else str(match))})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await request.json()
                for name, value in changes.items():
                    if name not in {f.name for f in fields(Config)}:
                        raise ValueError(f"unknown setting {name!r}")
                    setattr(state.config, name, value)
            except (ValueError, AttributeError) as exc:
                return error_response(400, f"bad config: {exc}; settings: {[f.name for f in fields(Config)]}")
        return JSONResponse(asdict(state.config))

    async def operations(request: Request) -> Response:
        if "count" in request.query_params:
            try:
                count, timeout = _wait_params(request)
                await _waiting(state, lambda gone: state.wait_for_operations(count, timeout, gone))
            except ValueError as exc:
                return error_response(400, f"bad wait: {exc}; use ?count=N&timeout=SECONDS")
            except TimeoutError as exc:
                return error_response(408, str(exc), "DEADLINE_EXCEEDED")
        return JSONResponse({"operations": [_summary(state, name) for name in state.operation_names()]})

    async def operation(request: Request) -> Response:
        ref, _, action = request.path_params["ref"].rpartition(":")
        body = await _optional_json(request)
        body = body if isinstance(body, dict) else {}
        try:
            if action == "finish":
                name = state.finish_operation(ref)
            elif action == "fail":
                message = str(body.get("message") or "Video generation failed: internal error.")
                name = state.finish_operation(ref, error={"code": int(body.get("code", 13)), "message": message})
            elif action == "progress":
                if "percent" not in body:
                    return error_response(400, 'progress needs a body {"percent": 0-100}')
                name = state.set_progress(ref, int(body["percent"]))
            else:
                return error_response(404, f"unknown action {action!r}: use :finish, :fail or :progress", "NOT_FOUND")
        except KeyError as exc:
            return error_response(404, str(exc.args[0]), "NOT_FOUND")
        except (TypeError, ValueError) as exc:
            code = 409 if "already finished" in str(exc) else 400
            return error_response(code, str(exc), "FAILED_PRECONDITION" if code == 409 else "INVALID_ARGUMENT")
        return JSONResponse(_summary(state, name))

    async def finish_all(_: Request) -> Response:
        return JSONResponse({"finished": state.finish_all()})

    return [
        Route(f"{CONTROL_PREFIX}/health", health, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/requests", requests, methods=["GET", "DELETE"]),
        Route(f"{CONTROL_PREFIX}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{CONTROL_PREFIX}/faults:release", release, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/config", config, methods=["GET", "POST"]),
        Route(f"{CONTROL_PREFIX}/operations", operations, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/operations:finishAll", finish_all, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/operations/{{ref:path}}", operation, methods=["POST"]),
    ]


MAX_WAIT_S = 300.0


def _wait_params(request: Request) -> tuple[int, float]:
    count = int(request.query_params["count"])
    timeout = float(request.query_params.get("timeout") or WAIT_S)
    if count < 0 or not 0 <= timeout <= MAX_WAIT_S:
        raise ValueError(f"count must be >= 0 and timeout between 0 and {MAX_WAIT_S:g} s")
    return count, timeout


async def _waiting(state: EmulatorState, wait: Callable[[threading.Event], T]) -> T:
    """Run a blocking state wait in a worker thread, ending it when the request is cancelled."""
    gone = threading.Event()
    try:
        return await anyio.to_thread.run_sync(wait, gone, abandon_on_cancel=True)
    finally:
        gone.set()
        state.wake()


async def _optional_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}


def _summary(state: EmulatorState, name: str) -> dict[str, Any]:
    job = state.operation(name) or {}
    done = bool(job.get("done"))
    return {
        "name": name,
        "id": name.rsplit("/", 1)[-1],
        "done": done,
        "held": not done and "finishes_at" in job and job["finishes_at"] is None,
        "progressPercent": job.get("progress"),
        "error": job.get("error"),
    }


class ConnectionDropped(Exception):
    """Raised to abandon a response half-way, which the client sees as a dropped connection."""


class Recorder:
    """ASGI middleware: records each API request, applies scripted faults and latency, checks the key."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        info = paths.parse(path, scope.get("method"))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = dict(QueryParams(scope.get("query_string", b"")))
        key = headers.get("x-goog-api-key") or query.get("key")
        entry: dict[str, Any] = {
            "method": scope.get("method", "WS"),
            "path": path,
            "rpc": info.rpc,
            "model": info.model,
            "query": {k: v for k, v in query.items() if k != "key"},
            "body": None,
            "has_api_key": bool(key),
            "has_bearer": headers.get("authorization", "").lower().startswith("bearer "),
            "api_version": info.api_version,
            "backend": info.backend,
        }
        if scope["type"] == "websocket":
            self.state.record(entry)
            await self.app(scope, receive, send)
            return

        body = await _read_body(receive)
        entry["body"] = _recorded_body(body, headers.get("content-type", ""))
        self.state.record(entry)
        replay = _replay(body)

        fault = self.state.take_fault(info.rpc, path)
        if fault is not None and fault.hold:
            # In a worker thread: the release comes from the test's thread, through the state's condition.
            await anyio.to_thread.run_sync(self.state.wait_released, fault, abandon_on_cancel=True)
        delay = self.state.config.latency_s + (fault.delay_s if fault else 0.0)
        if delay:
            await anyio.sleep(delay)
        if fault is not None and await _scripted(fault, send):
            return
        if not path.startswith(KEYLESS_PREFIXES):
            refusal = _check_auth(key, entry["has_bearer"], self.state.config.require_key)
            if refusal is not None:
                await refusal(scope, replay, send)
                return
        if fault is not None and (fault.truncate_after is not None or fault.headers):
            send = _faulty_send(send, fault)
        try:
            await self.app(scope, replay, send)
        except ConnectionDropped:
            return


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


def _recorded_body(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    if "json" in content_type or body[:1] in (b"{", b"["):
        try:
            return json.loads(body)
        except ValueError:
            pass
    return {"_bytes": len(body)}


def _check_auth(key: str | None, bearer: bool, required: bool) -> Response | None:
    if key:
        if key.lower().startswith("invalid"):
            return error_response(
                400,
                "API key not valid. Please pass a valid API key.",
                "INVALID_ARGUMENT",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )
        return None
    if bearer or not required:
        return None
    return error_response(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or "
        "other form of API consumer identity to call this API.",
        "PERMISSION_DENIED",
    )


async def _scripted(fault: Fault, send: Send) -> bool:
    """Send the fault's scripted answer; False when the request should be served normally."""
    extra = [(k.lower().encode(), str(v).encode()) for k, v in fault.headers.items()]
    if fault.reset:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100"), *extra]})
        return True
    if fault.page is not None or fault.malformed:
        page = fault.page if fault.page is not None else "<html>502 Bad Gateway: emulated malformed answer</html>"
        payload = page.encode()
        content_type = b"text/html; charset=utf-8"
        status = fault.response_status
    elif fault.response is not None:
        payload = json.dumps(fault.response).encode()
        content_type = b"application/json"
        status = fault.response_status
    elif fault.status is not None:
        error = error_response(fault.status, fault.message)
        payload = bytes(error.body)
        content_type = b"application/json"
        status = fault.status
    else:
        return False
    if fault.truncate_after is not None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode()), *extra],
            }
        )
        await send({"type": "http.response.body", "body": payload[: fault.truncate_after], "more_body": True})
        return True
    headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
    return True


def _faulty_send(send: Send, fault: Fault) -> Send:
    sent = 0
    limit = fault.truncate_after
    extra = [(k.lower().encode(), str(v).encode()) for k, v in fault.headers.items()]

    async def faulty(message: Message) -> None:
        nonlocal sent
        if message["type"] == "http.response.start" and extra:
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        if message["type"] == "http.response.body" and limit is not None:
            body = message.get("body", b"")
            if sent + len(body) >= limit:
                await send({"type": "http.response.body", "body": body[: limit - sent], "more_body": True})
                raise ConnectionDropped
            sent += len(body)
        await send(message)

    return faulty
