#!/usr/bin/python3
"""An echo session held by python3-websockets (Debian's package).

    echo_client.py ws://127.0.0.1:PORT/echo
    echo_client.py --ca CERT --max N [--idle URL] wss://127.0.0.1:PORT/echo

Prints one line per step ("text ok", ...) and exits 0, or prints
"FAIL <step>: <why>" and exits 1.  Run it with /usr/bin/python3: the
websockets package is Debian's.

--ca: verify the wss:// server against this certificate.  --max: instead
of the interop session, echo messages of 1 byte up to N bytes (the
location's ws_perf_max_message_size) and expect 1009 for N + 1.  --idle:
then wait on that location until the server closes (idle timeout).
"""

import argparse
import asyncio
import ssl
import sys
import time

import websockets

MIB = 1 << 20


def pattern(n, seed):
    block = bytes((i * 167 + seed * 13 + 11) & 0xFF for i in range(1021))
    return (block * (n // len(block) + 1))[:n]


async def expect(ws, want, step):
    got = await asyncio.wait_for(ws.recv(), 10)
    if type(got) is not type(want):
        raise AssertionError("%s: got a %s message, want %s" % (
            step, type(got).__name__, type(want).__name__))
    if got != want:
        raise AssertionError("%s: echo differs (%d bytes, want %d)" % (
            step, len(got), len(want)))
    print(step + " ok", flush=True)


async def session(url, tls=None):
    # the defaults: permessage-deflate is offered (and must be declined)
    async with websockets.connect(url, ssl=tls, max_size=4 * MIB,
                                  open_timeout=10, close_timeout=5) as ws:
        if ws.subprotocol is not None:
            raise AssertionError("subprotocol %r selected" % ws.subprotocol)
        exts = ws.response_headers.get_all("Sec-WebSocket-Extensions")
        if exts:
            raise AssertionError("extensions answered: %r" % exts)
        print("open ok", flush=True)

        await ws.send("hello from python3-websockets")
        await expect(ws, "hello from python3-websockets", "text")

        word = "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001f600 \u4e16\u754c"
        await ws.send(word)
        await expect(ws, word, "unicode")

        await ws.send(bytes(range(256)))
        await expect(ws, bytes(range(256)), "binary")

        await ws.send(b"")
        await expect(ws, b"", "empty binary")

        big = pattern(MIB, 1)
        await ws.send(big)
        await expect(ws, big, "1MiB binary")

        text = ("0123456789abcdef" * (MIB // 16))
        await ws.send(text)
        await expect(ws, text, "1MiB text")

        # one message sent as three frames comes back whole
        await ws.send(["frag", "ment", "ed"])
        await expect(ws, "fragmented", "fragmented")

        waiter = await ws.ping(b"python ping")
        await asyncio.wait_for(waiter, 10)
        print("ping ok", flush=True)

        # longer than the idle timeout: the library answers the server's
        # pings, which keeps the connection
        await asyncio.sleep(1.5)
        await ws.send("still open")
        await expect(ws, "still open", "after idle")

        start = time.monotonic()
        await ws.close(code=1000, reason="bye")
        took = time.monotonic() - start
        if took > 3:
            raise AssertionError("close took %.2fs" % took)
        print("close %s %r" % (ws.close_code, ws.close_reason), flush=True)


# lengths around every frame header size and TLS record (16 KiB) boundary
def sizes_up_to(limit):
    sizes = [1, 125, 126, 127, 16383, 16384, 16385, 65535, 65536, 65537,
             100000, limit // 2, limit - 1, limit]
    return sorted(set(n for n in sizes if 1 <= n <= limit))


async def sizes_session(url, limit, tls):
    async with websockets.connect(url, ssl=tls, max_size=4 * limit,
                                  open_timeout=10, close_timeout=5) as ws:
        print("open ok", flush=True)
        for n in sizes_up_to(limit):
            await ws.send(pattern(n, n % 7))
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != pattern(n, n % 7):
                raise AssertionError("binary of %d bytes: echo differs" % n)
            text = ("0123456789abcdef" * (n // 16 + 1))[:n]
            await ws.send(text)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != text:
                raise AssertionError("text of %d bytes: echo differs" % n)
        print("echo 1 byte to max_message_size ok", flush=True)

        waiter = await ws.ping(b"tls ping")
        await asyncio.wait_for(waiter, 10)
        print("ping ok", flush=True)

        start = time.monotonic()
        await ws.close(code=1000, reason="bye")
        took = time.monotonic() - start
        if took > 1:
            raise AssertionError("close took %.2fs" % took)
        print("close %s, answered at once" % ws.close_code, flush=True)

    async with websockets.connect(url, ssl=tls, max_size=4 * limit,
                                  open_timeout=10, close_timeout=5) as ws:
        await ws.send(pattern(limit + 1, 1))
        try:
            await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError("an echo of %d bytes" % (limit + 1))
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(ws.wait_closed(), 5)
        print("max_message_size + 1: close %s" % ws.close_code, flush=True)


async def idle_session(url, tls):
    async with websockets.connect(url, ssl=tls, open_timeout=10,
                                  close_timeout=5) as ws:
        start = time.monotonic()
        await asyncio.wait_for(ws.wait_closed(), 10)
        took = time.monotonic() - start
        # the location's idle timeout is well under a second
        if took > 3:
            raise AssertionError("idle close took %.2fs" % took)
        print("idle: server closed with %s" % ws.close_code, flush=True)


async def run(a):
    tls = ssl.create_default_context(cafile=a.ca) if a.ca else None
    if a.max:
        await sizes_session(a.url, a.max, tls)
    else:
        await session(a.url, tls)
    if a.idle:
        await idle_session(a.idle, tls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ca")
    ap.add_argument("--max", type=int)
    ap.add_argument("--idle")
    ap.add_argument("url")
    a = ap.parse_args()
    try:
        asyncio.run(run(a))
    except Exception as e:
        print("FAIL %s: %s" % (type(e).__name__, e), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
