#!/usr/bin/python3
"""permessage-deflate scenarios for t/504-deflate-clients.t, run while the
test's nginx is up.

    deflate.py --port N SCENARIO [key=value ...]

The WebSocket clients are python3-websockets' own (asyncio, with its
permessage-deflate extension, which it offers by default), node's "ws"
(t/interop/deflate_client.js) and headless Chromium
(t/interop/chromium_echo.js).  Frames the server compressed are counted
where python3-websockets decodes them.  Every wait has a deadline; each
scenario prints what held, line by line.
"""

import asyncio
import json
import os
import subprocess
import sys

import websockets
from websockets.extensions import permessage_deflate as pmd
from websockets.frames import Opcode

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import wsclient                     # noqa: E402
from client import out, scenario    # noqa: E402
from wsclient import publish, request  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# data frames the server sent with RSV1, as python3-websockets decoded them
COMPRESSED = {"frames": 0}

_decode = pmd.PerMessageDeflate.decode


def _counting_decode(self, frame, *, max_size=None):
    if frame.rsv1 and frame.opcode in (Opcode.TEXT, Opcode.BINARY):
        COMPRESSED["frames"] += 1
    return _decode(self, frame, max_size=max_size)


pmd.PerMessageDeflate.decode = _counting_decode


def text(n, seed=0):
    """n bytes of JSON-like UTF-8 text, which compresses"""
    unit = ('{"type":"msg","seq":%d,"data":"h\u00e9llo w\u00f6rld \u4e16'
            '\u754c","ok":true} ' % seed)
    s = (unit * (n // len(unit.encode()) + 2)).encode()[:n]
    while True:
        try:
            return s.decode()
        except UnicodeDecodeError:
            s = s[:-1] + b"."


def binary(n, seed=0):
    unit = bytes((i * 7 + seed) & 0x3f for i in range(64))
    return (unit * (n // 64 + 1))[:n]


def status(port):
    code, _, body = request(port, "GET", "/status?format=json")
    if code != 200:
        raise AssertionError("status: %d" % code)
    return json.loads(body)["deflate"]


def url(port, path):
    scheme = "wss" if wsclient.TLS else "ws"
    return "%s://127.0.0.1:%d%s" % (scheme, port, path)


def connect(port, path, extensions="default", **kw):
    if extensions == "default":
        return websockets.connect(url(port, path), ssl=wsclient.TLS,
                                  open_timeout=10 * wsclient.SCALE,
                                  close_timeout=5, max_size=1 << 21, **kw)
    return websockets.connect(url(port, path), ssl=wsclient.TLS,
                              open_timeout=10 * wsclient.SCALE,
                              close_timeout=5, max_size=1 << 21,
                              extensions=extensions, compression=None, **kw)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), 10 * wsclient.SCALE)


SIZES = (16, 64, 256, 1024, 4096, 16384, 65536, 131072)

# Autobahn category 13 in spirit: what a client offers, by name
OFFERS = {
    "default": {},
    "client-no-context": {"client_no_context_takeover": True},
    "server-no-context": {"server_no_context_takeover": True},
    "client-window-9": {"client_max_window_bits": 9},
    "server-window-15": {"server_max_window_bits": 15},
    "server-window-9": {"server_max_window_bits": 9},
    "all": {"client_no_context_takeover": True,
            "server_no_context_takeover": True,
            "client_max_window_bits": 10, "server_max_window_bits": 15},
}


@scenario
def echo(port, path="/echo", offers="default"):
    """Messages of 16 B to 128 KB, text and binary, echoed for each offer:
    the answer, the echoes, and how many came back compressed."""

    async def one(name):
        ext = [pmd.ClientPerMessageDeflateFactory(
            compress_settings={"memLevel": 5}, **OFFERS[name])]
        async with connect(port, path, extensions=ext) as ws:
            answer = ws.response_headers.get("Sec-WebSocket-Extensions")
            before = COMPRESSED["frames"]
            bad = []
            for n in SIZES:
                for msg in (text(n, n), binary(n, n)):
                    await ws.send(msg)
                    got = await recv(ws)
                    if got != msg:
                        bad.append(n)
            out("%s: %s" % (name, answer))
            out("%s: %d echoes %s, %d compressed" % (
                name, 2 * len(SIZES), "differ: %s" % bad if bad else "ok",
                COMPRESSED["frames"] - before))

    async def run():
        for name in offers.split(","):
            await one(name)

    asyncio.run(run())


@scenario
def fanout(port, subs="40", plain="5", msgs="20", channel="room.z",
           size="2000"):
    """subs deflate subscribers of /ws, as many of /raw (ws_perf_format
    raw) and plain ones without the extension: each message is compressed
    once per form (JSON, raw) in the worker, whatever the subscribers."""
    subs, plain, msgs, size = int(subs), int(plain), int(msgs), int(size)

    async def reader(ws, n, got):
        for _ in range(n):
            got.append(await recv(ws))

    async def run():
        before = status(port)
        js = [await connect(port, "/ws?channels=" + channel)
              for _ in range(subs)]
        raw = [await connect(port, "/raw?channels=" + channel)
               for _ in range(subs)]
        plains = [await connect(port, "/ws?channels=" + channel,
                                extensions=None) for _ in range(plain)]
        every = js + raw + plains
        deflated = sum(1 for c in every
                       if c.response_headers.get("Sec-WebSocket-Extensions"))
        wsclient.wait_subscribers(port, "channel=" + channel, len(every))
        out("%d of %d subscribers negotiated permessage-deflate" % (
            deflated, len(every)))
        out("connections with deflate: %d more" % (
            status(port)["connections"] - before["connections"]))

        got = [[] for _ in every]
        tasks = [asyncio.ensure_future(reader(c, msgs, g))
                 for c, g in zip(every, got)]
        frames0 = COMPRESSED["frames"]
        for i in range(msgs):
            publish(port, {"channel": channel, "data": text(size, i)})
        await asyncio.wait_for(asyncio.gather(*tasks), 30 * wsclient.SCALE)

        want = [text(size, i) for i in range(msgs)]
        ok = all([json.loads(m)["data"] for m in g] == want
                 for g in got[:subs] + got[2 * subs:])
        ok = ok and all(g == want for g in got[subs:2 * subs])
        out("every subscriber got the %d messages: %s" % (
            msgs, "yes" if ok else "no"))
        out("frames received compressed: %d" % (
            COMPRESSED["frames"] - frames0))

        after = status(port)
        out("compressions in the worker: %d" % (
            after["compressed"] - before["compressed"]))
        saved = after["bytes_before"] - before["bytes_before"]
        sent = after["bytes_after"] - before["bytes_after"]
        out("compressed to under half: %s" % (
            "yes" if 0 < sent < saved / 2
            else "no (%d of %d)" % (sent, saved)))
        for c in every:
            await c.close()

    asyncio.run(run())


@scenario
def contexts(port, path="/echo", conns="3", msgs="10"):
    """With ws_perf_deflate_client_context, clients that keep their
    compression context are answered so; each connection's inflate
    context is counted in the status while it is open, and given back."""
    conns, msgs = int(conns), int(msgs)

    async def run():
        before = status(port)
        socks = [await connect(port, path) for _ in range(conns)]
        out("answer: %s" % socks[0].response_headers.get(
            "Sec-WebSocket-Extensions"))
        ok = True
        for i in range(msgs):
            for ws in socks:
                m = text(600, i)
                await ws.send(m)
                ok = ok and await recv(ws) == m
        out("%d echoes on each connection: %s" % (msgs, "ok" if ok
                                                  else "differ"))
        during = status(port)
        n = during["inflate_contexts"] - before["inflate_contexts"]
        mem = during["inflate_context_bytes"] - before["inflate_context_bytes"]
        out("inflate contexts: %d" % n)
        out("their memory within the bound: %s" % (
            "yes" if 0 < mem <= n * (7 * 1024 + 32768 + 1024)
            else "no (%d bytes)" % mem))
        for ws in socks:
            await ws.close()
        # the server has closed them once the close handshakes completed
        for _ in range(100):
            after = status(port)
            if after["inflate_contexts"] == before["inflate_contexts"]:
                break
            await asyncio.sleep(0.05)
        out("after close: %d contexts, %d bytes" % (
            after["inflate_contexts"] - before["inflate_contexts"],
            after["inflate_context_bytes"]
            - before["inflate_context_bytes"]))

    asyncio.run(run())


@scenario
def resume(port, channel="hist", n="5"):
    """A compressed resume command from a pub/sub client; the history it
    brings back is compressed for that connection (the replies are not)."""
    n = int(n)

    async def run():
        ids = [publish(port, {"channel": channel,
                              "data": text(2000, i)})["ids"][0]
               for i in range(n)]
        before = status(port)
        async with connect(port, "/ws?channels=" + channel) as ws:
            frames0 = COMPRESSED["frames"]
            await ws.send(json.dumps({"type": "resume", "channel": channel,
                                      "since": ids[0]}))
            got = []
            while True:
                m = json.loads(await recv(ws))
                if m["type"] != "msg":
                    break
                got.append(m["data"])
            out("resume after the first of %d: %d messages %s, then %s" % (
                n, len(got),
                "as published" if got == [text(2000, i)
                                          for i in range(1, n)]
                else "differing", m["type"]))
            out("frames received compressed: %d" % (
                COMPRESSED["frames"] - frames0))
        after = status(port)
        out("inflated in the worker: %d, compressed: %d" % (
            after["inflated"] - before["inflated"],
            after["compressed"] - before["compressed"]))

    asyncio.run(run())


def program(argv, name):
    env = dict(os.environ, NODE_PATH=os.path.join(TOP, "build", "npm",
                                                  "node_modules"))
    try:
        p = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=90 * wsclient.SCALE)
    except subprocess.TimeoutExpired:
        out("%s: timed out" % name)
        return
    sys.stdout.write(p.stdout)
    if p.returncode:
        out("%s: exit status %d" % (name, p.returncode))
        sys.stderr.write(p.stderr)


@scenario
def node(port, path="/echo"):
    """node's ws with perMessageDeflate (every message compressed)"""
    program(["node", os.path.join(TOP, "t/interop/deflate_client.js"),
             url(port, path)], "node")


@scenario
def chromium(port, page="/deflate.html"):
    """headless Chromium, which offers permessage-deflate by default"""
    scheme = "https" if wsclient.TLS else "http"
    program(["node", os.path.join(TOP, "t/interop/chromium_echo.js"),
             "%s://127.0.0.1:%d%s" % (scheme, port, page)], "chromium")


if __name__ == "__main__":
    sys.exit(client.main())
