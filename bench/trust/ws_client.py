#!/usr/bin/python3
"""An independent subscriber for t/030-bench-trust.t.

Subscribes to one channel with python3-websockets (not wsbench's codec),
prints "ready" once the handshake is done, then collects messages until the
channel has been quiet for IDLE seconds (at most LIMIT seconds in all) and
prints one JSON line: the message count, the SHA-1 of every payload followed
by its length as 4 big-endian bytes (wsbench's digest), and the latency it
saw itself from the timestamps wsbench writes into each payload.  With
"deflate" after the URL it offers permessage-deflate (python3-websockets'
own offer and inflater) and the line also holds the server's
Sec-WebSocket-Extensions answer.

    /usr/bin/python3 bench/trust/ws_client.py ws://127.0.0.1:PORT/sub/CH \
        [deflate]
"""

import asyncio
import hashlib
import json
import sys
import time

import websockets

IDLE = 2.0
FIRST = 15.0
LIMIT = 60.0


async def collect(url, deflate):
    digest = hashlib.sha1()
    count = 0
    lat = []
    start = time.monotonic()

    async with websockets.connect(url, max_size=None, ping_interval=None,
                                  compression="deflate" if deflate
                                  else None) as ws:
        extensions = ws.response_headers.get("Sec-WebSocket-Extensions")
        print("ready", flush=True)

        while time.monotonic() - start < LIMIT:
            try:
                msg = await asyncio.wait_for(ws.recv(),
                                             IDLE if count else FIRST)
            except asyncio.TimeoutError:
                break

            now = time.time_ns()
            data = msg.encode() if isinstance(msg, str) else msg
            digest.update(data + len(data).to_bytes(4, "big"))
            count += 1

            # 'W' run(8) epoch(2) pub(2) seq(8) send time in ns(16), hex
            if len(data) >= 37 and data[:1] == b"W":
                lat.append((now - int(data[21:37], 16)) / 1e6)

    lat.sort()
    return {
        "count": count,
        "sha1": digest.hexdigest(),
        "p50_ms": lat[len(lat) // 2] if lat else None,
        "max_ms": lat[-1] if lat else None,
        "extensions": extensions,
    }


def main():
    deflate = len(sys.argv) > 2 and sys.argv[2] == "deflate"
    result = asyncio.run(collect(sys.argv[1], deflate))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
