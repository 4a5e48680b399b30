#!/usr/bin/python3
"""A minimal pub/sub server for t/032-bench-deflate.t that keeps its
permessage-deflate context between messages, which neither ngx_ws_perf_module
nor nchan does: WebSocket subscribers at /sub/CH, POST /pub/CH publishes the
body to them.  Each subscriber gets the messages compressed by a compressor
of its own (zlib level 1, 32 KB window, a sync flush per message, the final
00 00 ff ff removed), so that later messages refer back to earlier ones.

    /usr/bin/python3 bench/trust/deflate_server.py keep|lie

keep: the 101 answers "permessage-deflate" (the server keeps its context, so
may the client); lie: it answers "permessage-deflate;
server_no_context_takeover" but keeps the context all the same, which a
client that resets its inflater per message, as that answer tells it to,
cannot read.  Prints "listening PORT" (a free port on 127.0.0.1), serves
until its stdin closes or 60 seconds have passed.
"""

import asyncio
import base64
import hashlib
import os
import sys
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LIMIT = 60.0
ANSWER = {
    "keep": "permessage-deflate",
    "lie": "permessage-deflate; server_no_context_takeover",
}


class Hub:
    def __init__(self, answer):
        self.answer = answer
        self.subs = {}

    def frame(self, data, comp):
        data = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)
        data = data[:-4]
        n = len(data)
        if n < 126:
            head = bytes([0xc1, n])
        elif n < 65536:
            head = bytes([0xc1, 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0xc1, 127]) + n.to_bytes(8, "big")
        return head + data

    def publish(self, ch, body):
        for writer, comp in list(self.subs.get(ch, {}).items()):
            writer.write(self.frame(body, comp))

    async def subscriber(self, ch, head, reader, writer):
        key = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n"
                     b"Sec-WebSocket-Extensions: "
                     + self.answer.encode() + b"\r\n\r\n")
        comp = zlib.compressobj(1, zlib.DEFLATED, -15)
        self.subs.setdefault(ch, {})[writer] = comp

        try:
            while True:
                b = await reader.readexactly(2)
                n = b[1] & 0x7f
                if n == 126:
                    n = int.from_bytes(await reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await reader.readexactly(8), "big")
                mask = await reader.readexactly(4)
                data = bytearray(await reader.readexactly(n))
                for i in range(n):
                    data[i] ^= mask[i % 4]
                if b[0] & 0x0f == 0x8:
                    # the close handshake, uncompressed as control frames are
                    writer.write(bytes([0x88, len(data)]) + bytes(data))
                    await writer.drain()
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            del self.subs[ch][writer]
            writer.close()

    async def client(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].split()
                path = line[1].decode() if len(line) > 1 else "/"
                if line[0] == b"GET" and path.startswith("/sub/"):
                    await self.subscriber(path[5:], head, reader, writer)
                    return
                length = 0
                for h in head.split(b"\r\n"):
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":", 1)[1])
                body = await reader.readexactly(length)
                if line[0] == b"POST" and path.startswith("/pub/"):
                    self.publish(path[5:], body)
                    writer.write(b"HTTP/1.1 202 Accepted\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 404 Not Found\r\n"
                                 b"Content-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            pass
        writer.close()


async def main():
    hub = Hub(ANSWER[sys.argv[1]])
    server = await asyncio.start_server(hub.client, "127.0.0.1", 0)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([stdin], timeout=LIMIT)
    server.close()
    # the thread reading stdin may still wait
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
