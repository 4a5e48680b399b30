#!/usr/bin/python3
"""A front for wsbench's publishers in t/030-bench-trust.t that answers in
every form HTTP/1.1 allows, not the one nginx writes.  Each POST /pub/CH it
reads is passed on to the gateway behind it (the same path, the same body,
over one keep-alive connection per publisher), and the gateway's answer is
sent back to the publisher in turn as:

  lower    header names in lower case, Content-Length;
  chunked  Transfer-Encoding: chunked, the body in two chunks;
  decoys   header values that hold "Content-Length: 99999" and
           "Connection: close", which are not those headers;
  split    Content-Length, written in three pieces (within the blank line
           that ends the header, and within the body), 5 ms apart.

Every CLOSE_EVERY-th answer on a connection says "Connection: close" and the
connection is closed after it: the requests the publisher had pipelined
behind it are dropped unread, as a server that closes does.

    /usr/bin/python3 bench/trust/answer_front.py GATEWAY_PORT

Prints "listening PORT" (a free port on 127.0.0.1), serves until SIGTERM or
for 60 seconds, then prints one line: the publishes passed on, the answers
written and the connections it closed.
"""

import asyncio
import signal
import sys

LIMIT = 60.0
CLOSE_EVERY = 7
FORMS = ("lower", "chunked", "decoys", "split")


def content_length(head):
    """the Content-Length of a request's or an answer's header, or 0"""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class Front:
    def __init__(self, gateway):
        self.gateway = gateway
        self.passed = 0
        self.answers = 0
        self.closed = 0

    async def ask(self, link, path, body):
        """the gateway's status line and body for one publish"""
        reader, writer = link
        writer.write(b"POST %s HTTP/1.1\r\nHost: gateway\r\n"
                     b"Content-Length: %d\r\n\r\n%s"
                     % (path, len(body), body))
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        answer = await reader.readexactly(content_length(head))
        self.passed += 1
        return status, answer

    def forms(self, n, status, body, close):
        """the pieces of the n-th answer"""
        form = FORMS[n % len(FORMS)]
        last = b"Connection: close\r\n" if close else b""

        if form == "lower":
            return [b"%s\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n%s\r\n%s"
                    % (status, len(body), last.lower(), body)]

        if form == "chunked":
            half = len(body) // 2
            return [b"%s\r\nTransfer-Encoding: chunked\r\n%s\r\n"
                    b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
                    % (status, last, half, body[:half],
                       len(body) - half, body[half:])]

        if form == "decoys":
            return [b"%s\r\nX-Note: Content-Length: 99999\r\n"
                    b"X-Also: Connection: close\r\nContent-Length: %d\r\n"
                    b"%s\r\n%s" % (status, len(body), last, body)]

        whole = (b"%s\r\nContent-Length: %d\r\n%s\r\n%s"
                 % (status, len(body), last, body))
        cut = whole.index(b"\r\n\r\n") + 2
        return [whole[:cut], whole[cut:cut + 3], whole[cut + 3:]]

    async def serve(self, reader, writer):
        link = await asyncio.open_connection("127.0.0.1", self.gateway)
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].split()
                body = await reader.readexactly(content_length(head))

                status, answer = await self.ask(link, line[1], body)
                n += 1
                close = n % CLOSE_EVERY == 0

                for i, piece in enumerate(self.forms(n, status, answer,
                                                     close)):
                    if i:
                        await writer.drain()
                        await asyncio.sleep(0.005)
                    writer.write(piece)
                await writer.drain()
                self.answers += 1

                if close:
                    self.closed += 1
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            link[1].close()


async def main():
    front = Front(int(sys.argv[1]))
    server = await asyncio.start_server(front.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("listening %d" % port, flush=True)

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), LIMIT)
    except asyncio.TimeoutError:
        pass

    server.close()
    print("passed %d answered %d closed %d"
          % (front.passed, front.answers, front.closed), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
