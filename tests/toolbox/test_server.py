"""The toolbox server over HTTP and WebSocket: paths refused, bad input answered, pages kept apart."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from lucid_atlas.io.images import resolve_paths
from lucid_atlas.toolbox import Toolbox, ToolboxServer, ToolboxSettings

FAST = (("ours", "lucid", 32, 8), ("yosinski", "1", 32, 8))


def _server(model, folder, cache) -> ToolboxServer:
    settings = ToolboxSettings(tuple(resolve_paths(folder)), "conv2", str(cache), presets=FAST)
    return ToolboxServer(Toolbox(model), settings)


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(value)
    Image.fromarray((rng.random((40, 40, 3)) * value).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _run(server, scenario):
    async def main():
        async with TestClient(TestServer(server.app)) as client:
            return await scenario(client)
    return asyncio.run(main())


async def _receive(ws, kind: str, timeout: float = 60):
    """The next message of ``kind`` (skipping progress reports and others)."""
    while True:
        msg = json.loads((await asyncio.wait_for(ws.receive(), timeout)).data)
        if msg["type"] == kind:
            return msg
        if msg["type"] == "error" and kind != "error":
            raise AssertionError(msg["message"])


def test_files_outside_the_page_are_refused(tiny_classifier, image_folder, tmp_path):
    async def scenario(client):
        codes = {}
        for path in ("/assets/toolbox.js", "/assets/..%2F..%2Fsetup.cfg", "/assets/%2e%2e%2fserver.py",
                     "/assets/server.py", "/../../setup.cfg", "/assets/../engine.py", "/api/thumb/..%2F0",
                     "/api/thumb/999", "/api/thumb/-1", "/etc/passwd", "/assets//etc/passwd",
                     "/assets/%2Fetc%2Fpasswd", "/api/thumb/%2Fetc%2Fpasswd", "/api/thumb/0"):
            response = await client.get(path, allow_redirects=False)
            codes[path] = response.status
        return codes

    codes = _run(_server(tiny_classifier, image_folder, tmp_path), scenario)
    assert codes.pop("/assets/toolbox.js") == 200 and codes.pop("/api/thumb/0") == 200
    assert all(code in (403, 404) for code in codes.values()), codes


def test_bad_input_gets_a_message_and_the_next_input_works(tiny_classifier, image_folder, tmp_path):
    async def scenario(client):
        info = await (await client.get("/api/info")).json()
        ws = await client.ws_connect("/ws")
        await ws.send_bytes(b"\0" + b"plain text, not an image")
        error = await _receive(ws, "error")
        await ws.send_str(json.dumps({"type": "layer", "layer": "conv9"}))
        unknown = await _receive(ws, "error")
        await ws.send_str(json.dumps({"type": "unit", "channel": 3}))
        no_input = await _receive(ws, "error")
        await ws.send_str("{not json")
        garbled = await _receive(ws, "error")
        await ws.send_bytes(b"\0" + _png(200))
        view = await _receive(ws, "layer")
        await ws.send_str(json.dumps({"type": "unit", "layer": "conv2", "channel": 12}))
        out_of_range = await _receive(ws, "error")
        await ws.close()
        return info, error, unknown, no_input, garbled, view, out_of_range

    info, error, unknown, no_input, garbled, view, out_of_range = _run(
        _server(tiny_classifier, image_folder, tmp_path), scenario)
    assert [layer["name"] for layer in info["layers"]] == ["conv1", "conv2"] and len(info["images"]) == 14
    assert "not a readable image" in error["message"]
    assert "conv9" in unknown["message"] and "conv2" in unknown["message"]
    assert "choose an input" in no_input["message"]
    assert "bad request" in garbled["message"]
    assert view["channels"] == 12 and view["source"] == "upload" and len(view["top5"]) == 5
    assert "12 channels" in out_of_range["message"]


def test_a_unit_gets_its_top_images_and_visualizations(tiny_classifier, image_folder, tmp_path):
    async def scenario(client):
        ws = await client.ws_connect("/ws")
        await ws.send_str(json.dumps({"type": "image", "index": 0}))
        await _receive(ws, "layer")
        await ws.send_str(json.dumps({"type": "unit", "layer": "conv2", "channel": 5}))
        got = {"unit": None, "top": None, "vis": [], "progress": 0}
        while got["unit"] is None or got["top"] is None or len(got["vis"]) < 2:
            msg = json.loads((await asyncio.wait_for(ws.receive(), 120)).data)
            assert msg["type"] != "error", msg
            if msg["type"] == "progress":
                got["progress"] += 1
            elif msg["type"] == "vis":
                got["vis"].append(msg)
            else:
                got[msg["type"]] = msg
        await ws.close()
        return got

    got = _run(_server(tiny_classifier, image_folder, tmp_path), scenario)
    assert got["unit"]["channel"] == 5 and got["unit"]["guided"].startswith("data:image/png;base64,")
    assert len(got["top"]["crops"]) == 9 and got["top"]["skipped"] == 1
    values = [c["value"] for c in got["top"]["crops"]]
    assert values == sorted(values, reverse=True)
    assert {v["preset"] for v in got["vis"]} == {"ours", "yosinski"}
    assert got["progress"] >= 1
    assert len(list((tmp_path / "vis").rglob("*.png"))) == 2  # cached for the next request


def test_two_pages_get_their_own_answers(tiny_classifier, image_folder, tmp_path):
    async def scenario(client):
        first, second = await client.ws_connect("/ws"), await client.ws_connect("/ws")
        await first.send_str(json.dumps({"type": "layer", "layer": "conv1"}))
        for _ in range(3):  # interleaved requests from both pages
            await first.send_bytes(b"\1" + _png(255))
            await second.send_bytes(b"\1" + _png(30))
        a = [await _receive(first, "layer") for _ in range(3)]
        b = [await _receive(second, "layer") for _ in range(3)]
        await first.close()
        await second.close()
        return a, b

    a, b = _run(_server(tiny_classifier, image_folder, tmp_path), scenario)
    assert {m["layer"] for m in a} == {"conv1"} and {m["layer"] for m in b} == {"conv2"}
    assert len({m["tiles"] for m in a}) == 1 and all(m["source"] == "frame" for m in a + b)


def test_slow_work_never_holds_up_the_live_view(tiny_classifier, image_folder, tmp_path):
    slow = (("ours", "lucid", 64, 400),)
    settings = ToolboxSettings(tuple(resolve_paths(image_folder)), "conv2", str(tmp_path), presets=slow)

    async def scenario(client):
        ws = await client.ws_connect("/ws")
        await ws.send_bytes(b"\0" + _png(120))
        await _receive(ws, "layer")
        await ws.send_str(json.dumps({"type": "unit", "layer": "conv2", "channel": 1}))
        order = []
        for k in range(5):  # frames sent while the 400-step visualization renders in the background
            await ws.send_bytes(b"\1" + _png(40 * k + 20))
        while "vis" not in order:
            msg = json.loads((await asyncio.wait_for(ws.receive(), 120)).data)
            assert msg["type"] != "error", msg
            order.append(msg["type"])
        await ws.close()
        return order

    order = _run(ToolboxServer(Toolbox(tiny_classifier), settings), scenario)
    assert order.count("layer") == 5 and order.index("vis") > max(i for i, t in enumerate(order) if t == "layer")


def test_other_sites_cannot_open_the_socket(tiny_classifier, image_folder, tmp_path):
    import aiohttp

    async def scenario(client):
        refused = []
        for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
            try:
                ws = await client.ws_connect("/ws", headers={"Origin": origin})
                await ws.close()
                refused.append(False)
            except aiohttp.WSServerHandshakeError as exc:
                refused.append(exc.status == 403)
        own = await client.ws_connect("/ws", headers={"Origin": f"http://{client.host}:{client.port}"})
        await own.send_str(json.dumps({"type": "image", "index": 0}))
        view = await _receive(own, "layer")
        await own.close()
        return refused, view

    refused, view = _run(_server(tiny_classifier, image_folder, tmp_path), scenario)
    assert refused == [True, True, True] and view["channels"] == 12


def test_a_rebound_host_name_is_refused(tiny_classifier, image_folder, tmp_path):
    async def scenario(client):
        evil = await client.get("/api/thumb/0", headers={"Host": f"attacker.example:{client.port}"})
        local = await client.get("/api/thumb/0", headers={"Host": f"localhost:{client.port}"})
        return evil.status, local.status

    assert _run(_server(tiny_classifier, image_folder, tmp_path), scenario) == (403, 200)
