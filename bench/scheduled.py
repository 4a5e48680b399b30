#!/usr/bin/python3
"""How late scheduled messages arrive (docs/reliable.md).

    bench/scheduled.py PORT [COUNT]

Against a running gateway in Redis mode with `location /ws { ws_perf;
ws_perf_channels $arg_channels; }` and `location /pub { ws_perf_publish; }`
on 127.0.0.1:PORT: one subscriber, COUNT messages (default 300) scheduled
with "deliver_at" spread over the next three seconds, and how long after
its time each one reached the subscriber (this machine's clock on both
ends).  Prints the lateness percentiles in milliseconds.
"""

import asyncio
import json
import random
import sys
import time
import urllib.request

import websockets


async def main(port, count):
    ws = await websockets.connect("ws://127.0.0.1:%d/ws?channels=sched" % port)
    await asyncio.sleep(0.5)
    start = int(time.time() * 1000) + 500
    due = {}
    body = []
    for i in range(count):
        at = start + random.randint(0, 3000)
        due[i] = at
        body.append({"channel": "sched", "data": i, "deliver_at": at})
    req = urllib.request.Request("http://127.0.0.1:%d/pub" % port,
                                 data=json.dumps(body).encode())
    urllib.request.urlopen(req).read()
    late = []
    deadline = time.time() + 10
    while len(late) < count and time.time() < deadline:
        try:
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except asyncio.TimeoutError:
            break
        if m.get("type") == "msg":
            late.append(time.time() * 1000 - due[m["data"]])
    await ws.close()
    late.sort()

    def q(p):
        return late[min(len(late) - 1, int(p * len(late)))]

    print("%d of %d scheduled messages arrived; lateness ms: min %.1f, "
          "p50 %.1f, p95 %.1f, p99 %.1f, max %.1f"
          % (len(late), count, late[0], q(0.5), q(0.95), q(0.99), late[-1]))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]),
                     int(sys.argv[2]) if len(sys.argv) > 2 else 300))
