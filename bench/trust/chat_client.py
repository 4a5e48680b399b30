#!/usr/bin/python3
"""An independent chat subscriber for t/031-bench-chat.t.

Connects with python3-websockets (not wsbench's codec) to a ws_perf
endpoint as a user no wsbench connection has, in the rooms the URL names,
prints "ready" once the handshake is done, then reads ws-perf.v1 envelopes
until nothing came for IDLE seconds (at most LIMIT in all) and prints one
JSON line: what it counted from the headers wsbench writes into each
message's data ({"h":"W<run><epoch><pub><seq><ts><target>",...}).

    /usr/bin/python3 bench/trust/chat_client.py ws://127.0.0.1:PORT/ws?...
"""

import asyncio
import json
import sys
import time

import websockets

IDLE = 2.0
FIRST = 15.0
LIMIT = 60.0


async def collect(url):
    seen = set()
    top = {}
    dup = 0
    wrong = 0
    other = 0
    runs = set()
    start = time.monotonic()

    async with websockets.connect(url, max_size=None, ping_interval=None,
                                  compression=None) as ws:
        print("ready", flush=True)

        while time.monotonic() - start < LIMIT:
            try:
                frame = await asyncio.wait_for(ws.recv(),
                                               IDLE if seen else FIRST)
            except asyncio.TimeoutError:
                break

            env = json.loads(frame)
            if env.get("type") != "msg" or not isinstance(env.get("data"),
                                                          dict):
                other += 1
                continue

            h = env["data"]["h"]
            run, pub, seq = h[1:9], int(h[11:13], 16), int(h[13:21], 16)
            target = int(h[37:45], 16)
            runs.add(run)

            if env.get("channel") != "r%d" % target:
                wrong += 1

            key = (pub, target, seq)
            if key in seen:
                dup += 1
                continue

            seen.add(key)
            top[(pub, target)] = max(top.get((pub, target), -1), seq)

    return {
        "distinct": len(seen),
        "dup": dup,
        "missing": sum(v + 1 for v in top.values()) - len(seen),
        "wrong_channel": wrong,
        "other": other,
        "runs": len(runs),
    }


def main():
    print(json.dumps(asyncio.run(collect(sys.argv[1]))), flush=True)


if __name__ == "__main__":
    main()
