"""The toolbox's local web server (aiohttp): the page, thumbnails, and one WebSocket per open page.

Each WebSocket carries one page's state (its input image, layer and unit), so two pages never
see each other's results. Forward passes for the live view run on one dedicated thread; slow
work (top images, visualizations) runs on the background :class:`JobQueue` and reports progress,
so it never holds up the live view. Nothing a page sends is used as a path: images are named by
their index in the served list, layers are checked against the model, files are an allow-list.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import yarl
from aiohttp import WSMsgType, web

from ..io.images import ImageReadError, load_image
from .engine import MAX_UPLOAD_BYTES, InputError, Toolbox, decode_image, image_bytes
from .jobs import JobQueue
from .topk import LayerMaxima, crop_side, top_crops
from .vis import DEFAULT_PRESETS, render_unit

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
ASSET_FILES = {"toolbox.js": "application/javascript", "toolbox.css": "text/css"}
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
KIND_UPLOAD, KIND_FRAME = 0, 1
THUMB = 96


@dataclass(frozen=True)
class ToolboxSettings:
    """What the server serves: model and images, the layer shown first, where caches live."""

    images: tuple[str, ...]
    layer: str
    cache: str
    top_k: int = 9
    crop_context: float = 1.0  # crop side = this × the measured receptive field (at least min_crop)
    min_crop: float = 0.12
    presets: tuple[tuple[str, str, int, int], ...] = DEFAULT_PRESETS  # (name, recipe, size px, steps)


@dataclass
class PageState:
    """One open page: its current input and layer."""

    image: np.ndarray | None = None
    layer: str = ""
    tasks: set = field(default_factory=set)


def _data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class ToolboxServer:
    """The aiohttp application around a :class:`Toolbox` (``app`` is what to run)."""

    def __init__(self, toolbox: Toolbox, settings: ToolboxSettings):
        toolbox.check_layer(settings.layer)
        self.toolbox, self.settings = toolbox, settings
        self.live = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toolbox-live")
        self.jobs = JobQueue()
        self._maxima: dict[str, LayerMaxima] = {}
        self._thumbs: dict[int, bytes] = {}
        self.allowed_hosts: frozenset[str] | None = LOOPBACK_NAMES  # None: any (bound to a public interface)
        self.app = web.Application(client_max_size=1024 ** 2, middlewares=[self._check_host])
        self.app.add_routes([web.get("/", self.index), web.get("/assets/{name}", self.asset),
                             web.get("/api/info", self.info), web.get(r"/api/thumb/{index:\d+}", self.thumb),
                             web.get("/ws", self.websocket)])
        self.app.on_shutdown.append(self._shutdown)

    @web.middleware
    async def _check_host(self, request: web.Request, handler):
        """On a loopback address, answer only requests addressed to it (a DNS-rebound name is refused)."""
        host = yarl.URL(f"http://{request.host}").host if request.host else None
        if self.allowed_hosts is not None and (host or "").strip("[]") not in self.allowed_hosts:
            raise web.HTTPForbidden(text="the toolbox answers requests to 127.0.0.1 or localhost only")
        return await handler(request)

    # ---- plain HTTP ----------------------------------------------------------------------------
    async def index(self, _request: web.Request) -> web.Response:
        with open(os.path.join(ASSETS, "index.html"), encoding="utf-8") as f:
            return web.Response(text=f.read(), content_type="text/html")

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ASSET_FILES:  # an allow-list: never a path built from the request
            raise web.HTTPNotFound()
        with open(os.path.join(ASSETS, name), encoding="utf-8") as f:
            return web.Response(text=f.read(), content_type=ASSET_FILES[name])

    async def info(self, _request: web.Request) -> web.Response:
        model = self.toolbox.model
        layers = [{"name": n, "depth": model.layer(n).depth} for n in self.toolbox.spatial_layers]
        images = [{"index": i, "name": os.path.basename(p)} for i, p in enumerate(self.settings.images)]
        return web.json_response({"model": model.name, "layer": self.settings.layer, "layers": layers,
                                  "images": images, "presets": [p[0] for p in self.settings.presets],
                                  "top_k": self.settings.top_k, "max_upload": MAX_UPLOAD_BYTES})

    async def thumb(self, request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        if not 0 <= index < len(self.settings.images):
            raise web.HTTPNotFound()
        if index not in self._thumbs:
            try:
                image = await asyncio.get_running_loop().run_in_executor(
                    None, load_image, self.settings.images[index], THUMB)
            except ImageReadError:
                raise web.HTTPNotFound(text="unreadable image") from None
            self._thumbs[index] = image_bytes(image, "JPEG")
        return web.Response(body=self._thumbs[index], content_type="image/jpeg")

    # ---- the page's socket ---------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        # Browsers let any web site open a WebSocket to localhost: only our own page may (it would
        # otherwise read the served images through the layer view's input picture).
        origin = request.headers.get("Origin")
        if origin is not None and yarl.URL(origin).host_port_subcomponent != request.host:
            raise web.HTTPForbidden(text="the toolbox only answers its own page")
        ws = web.WebSocketResponse(max_msg_size=2 * MAX_UPLOAD_BYTES, heartbeat=30)
        await ws.prepare(request)
        state = PageState(layer=self.settings.layer)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await self._guard(ws, self._on_binary(ws, state, msg.data))
                elif msg.type == WSMsgType.TEXT:
                    await self._guard(ws, self._on_text(ws, state, msg.data))
        finally:
            for task in state.tasks:
                task.cancel()
        return ws

    async def _guard(self, ws, coro) -> None:
        """Run one request; a bad one gets a message, never a closed socket."""
        try:
            await coro
        except InputError as exc:
            await self._send(ws, {"type": "error", "message": str(exc)})
        except (ValueError, KeyError, TypeError) as exc:
            await self._send(ws, {"type": "error", "message": f"bad request: {exc}"})

    async def _send(self, ws, payload: dict) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps(payload))

    async def _run_live(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.live, fn, *args)

    async def _on_binary(self, ws, state: PageState, data: bytes) -> None:
        if not data or data[0] not in (KIND_UPLOAD, KIND_FRAME):
            raise InputError("binary messages start with 0 (upload) or 1 (frame)")
        kind, started = data[0], time.perf_counter()
        state.image = await self._run_live(decode_image, data[1:], self.toolbox.size)
        await self._send_layer(ws, state, source="frame" if kind == KIND_FRAME else "upload",
                               with_input=kind == KIND_UPLOAD, started=started)

    async def _on_text(self, ws, state: PageState, text: str) -> None:
        message = json.loads(text)
        if not isinstance(message, dict):
            raise InputError("messages are JSON objects")
        kind = message.get("type")
        if kind == "image":
            index = int(message.get("index", -1))
            if not 0 <= index < len(self.settings.images):
                raise InputError(f"no image {index}: the folder has {len(self.settings.images)}")
            try:
                state.image = await self._run_live(load_image, self.settings.images[index], self.toolbox.size)
            except ImageReadError:
                raise InputError(f"image {os.path.basename(self.settings.images[index])} is unreadable") from None
            await self._send_layer(ws, state, source="folder", with_input=True)
        elif kind == "layer":
            layer = str(message.get("layer", ""))
            self.toolbox.check_layer(layer)
            state.layer = layer
            if state.image is not None:
                await self._send_layer(ws, state, source="layer")
        elif kind == "unit":
            await self._on_unit(ws, state, message.get("channel"), str(message.get("layer", state.layer)))
        else:
            raise InputError(f"unknown message type {kind!r}")

    async def _send_layer(self, ws, state: PageState, source: str, with_input: bool = False,
                          started: float | None = None) -> None:
        """The layer view of the page's input; ``handled_ms``: from receiving the input to the reply."""
        started = started or time.perf_counter()
        view = await self._run_live(self.toolbox.layer_view, state.image, state.layer)
        view.extra["source"] = source
        if with_input:
            view.extra["input"] = _data_url(image_bytes(state.image, "JPEG"), "image/jpeg")
        payload = view.to_json()
        payload["handled_ms"] = round((time.perf_counter() - started) * 1000, 2)
        await self._send(ws, payload)

    # ---- unit view -------------------------------------------------------------------------------
    async def _on_unit(self, ws, state: PageState, channel, layer: str) -> None:
        channel = self.toolbox.check_channel(layer, channel)
        if state.image is None:
            raise InputError("choose an input image first")
        unit = await self._run_live(self.toolbox.unit_view, state.image, layer, channel)
        await self._send(ws, {"type": "unit", "layer": layer, "channel": channel, "peak": unit["peak"],
                              **{k: _data_url(unit[k]) for k in ("overlay", "map", "gradient", "guided")}})
        for coro in (self._send_top(ws, layer, channel),
                     *(self._send_vis(ws, layer, channel, preset) for preset in self.settings.presets)):
            task = asyncio.ensure_future(self._guard(ws, coro))  # errors reach the page
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)

    def _layer_maxima(self, layer: str) -> LayerMaxima:
        if layer not in self._maxima:
            self._maxima[layer] = LayerMaxima(self.toolbox.model, layer, list(self.settings.images),
                                              self.settings.cache)
        return self._maxima[layer]

    async def _wait(self, ws, job, what: str, layer: str, channel: int):
        """Report a background job's progress to this page until it finishes; its result."""
        last = None
        while not job.finished:
            status = (job.done, job.total)
            if status != last:
                await self._send(ws, {"type": "progress", "what": what, "layer": layer, "channel": channel,
                                      "done": job.done, "total": job.total, "label": job.label})
                last = status
            await asyncio.sleep(0.25)
        if job.error:
            raise InputError(f"{job.label} failed: {job.error}")
        return job.result

    async def _send_top(self, ws, layer: str, channel: int) -> None:
        maxima = self._layer_maxima(layer)
        if not maxima.complete:
            job = self.jobs.submit(("top", layer), f"top images of {layer}", maxima.compute)
            await self._wait(ws, job, "top", layer, channel)
        side = crop_side(self.toolbox.receptive_fraction(layer), self.settings.crop_context, self.settings.min_crop)
        crops = await asyncio.get_running_loop().run_in_executor(
            None, top_crops, maxima, channel, side, self.settings.top_k)
        await self._send(ws, {"type": "top", "layer": layer, "channel": channel, "side": side,
                              "skipped": maxima.skipped,
                              "crops": [{"src": _data_url(image_bytes(crop, "JPEG"), "image/jpeg"),
                                         "value": round(item.value, 3), "name": os.path.basename(item.path)}
                                        for item, crop in crops]})

    async def _send_vis(self, ws, layer: str, channel: int, preset: tuple) -> None:
        model, cache, name = self.toolbox.model, self.settings.cache, preset[0]
        job = self.jobs.submit(("vis", layer, channel, preset), f"{name} visualization of {layer}:{channel}",
                               lambda progress: render_unit(model, layer, channel, preset, cache=cache,
                                                            progress=progress))
        png = await self._wait(ws, job, f"vis-{name}", layer, channel)
        await self._send(ws, {"type": "vis", "preset": name, "layer": layer, "channel": channel,
                              "src": _data_url(png)})

    async def _shutdown(self, _app) -> None:
        self.jobs.shutdown()
        self.live.shutdown(wait=False, cancel_futures=True)


@dataclass
class RunningServer:
    """A toolbox server running on its own thread (tests, benchmarks, notebooks); ``stop()`` ends it."""

    url: str
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread
    _runner: web.AppRunner

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)


async def _listen(server: ToolboxServer, host: str, port: int) -> tuple[web.AppRunner, str]:
    server.allowed_hosts = LOOPBACK_NAMES if host.strip("[]") in LOOPBACK_NAMES else None
    runner = web.AppRunner(server.app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0][1]
    return runner, f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"


def start(server: ToolboxServer, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve on a background thread and return at once, listening (``port`` 0: a free one)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="toolbox-server", daemon=True)
    thread.start()
    runner, url = asyncio.run_coroutine_threadsafe(_listen(server, host, port), loop).result(timeout=60)
    return RunningServer(url, loop, thread, runner)


def serve(server: ToolboxServer, host: str = "127.0.0.1", port: int = 8000, on_start=None) -> None:
    """Serve until interrupted; ``on_start(url)`` once it listens (the CLI prints it)."""

    async def main():
        runner, url = await _listen(server, host, port)
        if on_start:
            on_start(url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
