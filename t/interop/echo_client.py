#!/usr/bin/python3
"""An echo session held by python3-websockets (Debian's package).

    echo_client.py ws://127.0.0.1:PORT/echo

Prints one line per step ("text ok", ...) and exits 0, or prints
"FAIL <step>: <why>" and exits 1.  Run it with /usr/bin/python3: the
websockets package is Debian's.
"""

import asyncio
import os
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


async def session(url):
    # the defaults: permessage-deflate is offered (and must be declined)
    async with websockets.connect(url, max_size=4 * MIB,
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


def main():
    try:
        asyncio.run(session(sys.argv[1]))
    except Exception as e:
        print("FAIL %s: %s" % (type(e).__name__, e), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
