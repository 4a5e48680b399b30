#!/usr/bin/python3
"""permessage-deflate: bytes on the wire and server CPU per delivery.

    /usr/bin/python3 bench/deflate.py MODULE_SO PORT [SUBS [MESSAGES [RUNS]]]

Starts nginx (one worker, under build/bench/deflate/) four ways in turn:
ngx_ws_perf_module with ws_perf_deflate off and on, and nchan (Debian's
module) without and with nchan_deflate_message_for_websocket, both
compressing at level 1 (BENCH_DEFLATE_LEVEL) with a 32 KB window;
ws_perf leaves messages under 128 bytes (BENCH_DEFLATE_MIN) plain,
nchan has no such bound.  Each time SUBSCRIBERS (200)
python3-websockets clients on one channel (raw payloads, the extension
offered only in the "on" runs) take MESSAGES (300) messages of a chat
mix published over HTTP: JSON chat lines of 60 bytes to 2 KB, a fixed
pseudo-random sequence.  Prints, per server and mode, the extension
negotiated, the bytes the clients read from their sockets per delivery
(frame headers included) and the worker's CPU (user + system, from
/proc) per delivery, while the messages are published and read (the
handshakes not counted), RUNS (2) runs interleaved.  Loopback only.
"""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import websockets
from websockets.legacy.protocol import WebSocketCommonProtocol

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = "/usr/sbin/nginx"
NCHAN = "/usr/lib/nginx/modules/ngx_nchan_module.so"

# zlib's level for both servers (BENCH_DEFLATE_LEVEL)
LEVEL = os.environ.get("BENCH_DEFLATE_LEVEL", "1")

# ws_perf_deflate_min_length (BENCH_DEFLATE_MIN); nchan has no such bound
MIN_LENGTH = os.environ.get("BENCH_DEFLATE_MIN", "128")

WIRE = {"bytes": 0}

_received = WebSocketCommonProtocol.data_received


def _counting(self, data):
    WIRE["bytes"] += len(data)
    return _received(self, data)


WebSocketCommonProtocol.data_received = _counting


CONF = """
load_module %(module)s;
worker_processes 1;
worker_rlimit_nofile 4096;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 2048; }
http {
    access_log off;
    %(http)s
    server {
        listen 127.0.0.1:%(port)d;
        location ~ ^/sub/(?<ch>[A-Za-z0-9_.-]+)$ { %(sub)s }
        location ~ ^/pub/(?<ch>[A-Za-z0-9_.-]+)$ { %(pub)s }
    }
}
"""

SERVERS = {
    "ws_perf": dict(
        http="ws_perf_deflate_level %(level)s; ws_perf_deflate_window 15; "
             "ws_perf_deflate_min_length %(min)s;",
        sub="ws_perf; ws_perf_channels $ch; ws_perf_format raw; "
            "ws_perf_deflate %(deflate)s;",
        pub="ws_perf_publish; ws_perf_channels $ch;"),
    "nchan": dict(
        http="nchan_shared_memory_size 64m; "
             "nchan_permessage_deflate_compression_level %(level)s; "
             "nchan_permessage_deflate_compression_window 15;",
        sub="nchan_subscriber websocket; nchan_channel_id $ch; "
            "nchan_subscriber_first_message newest;",
        pub="nchan_publisher http; nchan_channel_id $ch; "
            "nchan_message_buffer_length 10; "
            "nchan_deflate_message_for_websocket %(deflate)s;"),
}


def chat_mix(n):
    rnd = random.Random(7)
    words = ("hello there ok sure let us meet at noon the build is green "
             "again thanks see you tomorrow deploy finished review please "
             "lunch coffee later the tests pass on my machine").split()
    users = ["alice", "bob", "carol", "dave", "erin", "frank"]
    out = []
    for i in range(n):
        r = rnd.random()
        length = (rnd.randint(3, 12) if r < 0.7 else
                  rnd.randint(20, 60) if r < 0.95 else rnd.randint(200, 300))
        line = {"type": "chat", "room": "r1", "user": rnd.choice(users),
                "seq": i, "ts": 1796300000000 + i * 37,
                "text": " ".join(rnd.choice(words) for _ in range(length))}
        out.append(json.dumps(line, separators=(",", ":")).encode())
    return out


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def worker_pid(master):
    for _ in range(100):
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                return int(p)
        time.sleep(0.05)
    raise RuntimeError("no worker of %d" % master)


def start(server, deflate, module, port):
    prefix = os.path.join(TOP, "build", "bench", "deflate", server)
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    spec = SERVERS[server]
    conf = CONF % dict(
        module=module if server == "ws_perf" else NCHAN, port=port,
        http=spec["http"] % dict(level=LEVEL, min=MIN_LENGTH),
        sub=spec["sub"] % dict(deflate=deflate),
        pub=spec["pub"] % dict(deflate=deflate))
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    subprocess.run([NGINX, "-p", prefix, "-c", path], check=True)
    with open(os.path.join(prefix, "logs", "nginx.pid")) as f:
        master = int(f.read())
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return master


def stop(master):
    os.kill(master, signal.SIGQUIT)
    for _ in range(200):
        try:
            os.kill(master, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(master, signal.SIGKILL)


async def run(port, worker, deflate, subs, msgs):
    url = "ws://127.0.0.1:%d/sub/room" % port
    conns = []
    for _ in range(subs):
        if deflate:
            conns.append(await websockets.connect(url, max_size=None))
        else:
            conns.append(await websockets.connect(url, max_size=None,
                                                  compression=None))
    ext = conns[0].response_headers.get("Sec-WebSocket-Extensions")
    await asyncio.sleep(0.5)
    bodies = chat_mix(msgs)
    got = [0]

    async def reader(ws):
        for _ in range(msgs):
            await asyncio.wait_for(ws.recv(), 60)
            got[0] += 1

    tasks = [asyncio.ensure_future(reader(c)) for c in conns]
    WIRE["bytes"] = 0
    t0 = cpu_ticks(worker)
    loop = asyncio.get_running_loop()

    def publish():
        for b in bodies:
            req = urllib.request.Request(
                "http://127.0.0.1:%d/pub/room" % port, data=b,
                method="POST")
            urllib.request.urlopen(req, timeout=10).read()
            time.sleep(0.002)

    await loop.run_in_executor(None, publish)
    await asyncio.gather(*tasks)
    ticks = cpu_ticks(worker) - t0
    wire = WIRE["bytes"]
    for c in conns:
        await c.close()
    payload = sum(len(b) for b in bodies) * subs
    return ext, wire, got[0], payload, ticks


def main():
    module = os.path.abspath(sys.argv[1])
    port = int(sys.argv[2])
    subs = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    msgs = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    hz = os.sysconf("SC_CLK_TCK")

    print("| server | deflate | extension answered | deliveries | "
          "payload B/delivery | wire B/delivery | server CPU us/delivery |")
    print("|---|---|---|---|---|---|---|")
    for r in range(runs):
        for server in ("ws_perf", "nchan"):
            for deflate in ("off", "on"):
                master = start(server, deflate, module, port)
                try:
                    worker = worker_pid(master)
                    ext, wire, n, payload, ticks = asyncio.run(
                        run(port, worker, deflate == "on", subs, msgs))
                    cpu = ticks / hz
                finally:
                    stop(master)
                print("| %s | %s | %s | %d | %.1f | %.1f | %.2f |" % (
                    server, deflate, ext or "-", n, payload / n, wire / n,
                    cpu * 1e6 / n))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
