"""Blocking WebSocket and HTTP client pieces for the pub/sub tests.

The WebSocket side is the sans-I/O protocol of python3-websockets: the
library does the handshake, framing and masking; this file only moves bytes
between it and a socket it owns.  Owning the socket lets a test stop
reading, to play a slow consumer.

Everything is local (loopback TCP, or a unix socket nginx listens on) and
every wait has a deadline.  With TLS set (client.py --tls CERT) the
WebSocket and HTTP connections speak TLS, verifying nginx's certificate
against the test's self-signed one.
"""

from http.client import HTTPConnection, HTTPSConnection, RemoteDisconnected
import fcntl
import json
import selectors
import socket
import ssl
import struct
import termios
import time

from websockets.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri


HOST = "127.0.0.1"

# every deadline is multiplied by this (client.py --slow)
SCALE = 1

# an ssl.SSLContext: every connection speaks TLS (wss://, https://)
TLS = None


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    # HTTP/1.1 only, as a WebSocket client (RFC 6455) speaks it
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class Timeout(Exception):
    pass


class WS:
    """One client connection; frames received pile up in self.frames."""

    def __init__(self, port, path, headers=(), unix=None, max_size=None,
                 rcvbuf=None, tls=None, sock=None):
        """unix: the path of a unix socket nginx listens on, instead of
        the TCP port; rcvbuf: SO_RCVBUF, set before connecting; tls: an
        ssl.SSLContext for wss:// (default: TLS); sock: a TCP connection
        to the port made already (a keep-alive one that asked something
        first), for the handshake"""
        self.path = path
        if sock is not None:
            self.sock = sock
        elif unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = unix
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            addr = (HOST, port)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10 * SCALE)
        if sock is None:
            self.sock.connect(addr)
        tls = tls or TLS
        if tls:
            self.sock = tls.wrap_socket(self.sock, server_hostname=HOST)
        self.tls = tls is not None
        self.sock.setblocking(False)
        self.proto = ClientConnection(
            parse_uri("%s://%s:%d%s" % ("wss" if tls else "ws", HOST, port,
                                        path)), max_size=max_size)
        req = self.proto.connect()
        for k, v in headers:
            req.headers[k] = v
        self.proto.send_request(req)
        self.response = None
        self.frames = []
        self.parsed = []
        self.eof = False
        self.bytes_in = 0
        self.flush()

    def fileno(self):
        return self.sock.fileno()

    def flush(self):
        out = self.proto.data_to_send()
        if not out:
            return
        self.sock.setblocking(True)
        self.sock.settimeout(10 * SCALE)
        try:
            for chunk in out:
                if chunk == b"":
                    if self.tls:
                        # no half-close under TLS: the server closes
                        continue
                    try:
                        self.sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                else:
                    self.sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.sock.setblocking(False)

    def readable(self, limit=262144):
        """Reads what the socket has (up to limit bytes)."""
        try:
            data = self.sock.recv(limit)
            # TLS hands out a record at a time: take what it decrypted
            # already, the socket will not be readable for it
            while self.tls and data and self.sock.pending():
                data += self.sock.recv(self.sock.pending())
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return
        except (ConnectionResetError, ssl.SSLEOFError):
            data = b""
        if data:
            self.bytes_in += len(data)
            self.proto.receive_data(data)
        else:
            self.eof = True
            self.proto.receive_eof()
        for ev in self.proto.events_received():
            if isinstance(ev, Response):
                self.response = ev
            elif isinstance(ev, Frame):
                self.frames.append(ev)
                if ev.opcode is Opcode.TEXT:
                    try:
                        self.parsed.append((ev, json.loads(ev.data)))
                    except ValueError:
                        self.parsed.append((ev, {"type": "NOT-JSON",
                                                 "text": repr(ev.data)}))
        self.flush()

    def unread(self):
        """Bytes the kernel holds for this client that it has not read."""
        return struct.unpack("i", fcntl.ioctl(self.sock, termios.FIONREAD,
                                              b"\0\0\0\0"))[0]

    # ---------------------------------------------------------- sending

    def send_json(self, obj):
        self.send_text(json.dumps(obj, separators=(",", ":")))

    def send_text(self, s):
        self.proto.send_text(s.encode() if isinstance(s, str) else s)
        self.flush()

    def send_binary(self, b):
        self.proto.send_binary(b)
        self.flush()

    def close(self, code=1000):
        if not self.eof:
            try:
                self.proto.send_close(code)
                self.flush()
            except Exception:
                pass

    def abort(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.eof = True

    # --------------------------------------------------------- received

    def status(self):
        return self.response.status_code if self.response else None

    def data_frames(self):
        return [f for f in self.frames
                if f.opcode in (Opcode.TEXT, Opcode.BINARY)]

    def messages(self):
        """JSON values of the text frames received so far (a frame that is
        not JSON shows up as {"type": "NOT-JSON", ...})."""
        return [v for _, v in self.parsed]

    def close_code(self):
        for f in self.frames:
            if f.opcode is Opcode.CLOSE:
                if len(f.data) >= 2:
                    return int.from_bytes(f.data[:2], "big")
                return 1005
        return None


def pump(clients, cond, timeout, what):
    """Reads from the clients until cond() holds; Timeout after timeout s."""
    deadline = time.monotonic() + timeout * SCALE
    sel = selectors.DefaultSelector()
    for c in clients:
        if not c.eof:
            sel.register(c.sock, selectors.EVENT_READ, c)
    try:
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(what)
            if not sel.get_map():
                if cond():
                    break
                raise Timeout(what + " (every connection closed)")
            for key, _ in sel.select(min(left, 0.25)):
                c = key.data
                c.readable()
                if c.eof:
                    sel.unregister(c.sock)
    finally:
        sel.close()


def connect(port, path, headers=(), unix=None, timeout=10):
    """A connection whose handshake answer has arrived (any status)."""
    ws = WS(port, path, headers=headers, unix=unix)
    pump([ws], lambda: ws.response is not None or ws.eof, timeout,
         "handshake of " + path)
    return ws


def connect_many(port, paths, timeout=20):
    """Opens many connections at once and waits for all the handshakes."""
    conns = [WS(port, p) for p in paths]
    pump(conns, lambda: all(c.response is not None or c.eof for c in conns),
         timeout, "handshakes")
    return conns


# ------------------------------------------------------------------ HTTP

_keep = {}


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers dict with lower-case names, body bytes); one
    keep-alive connection per port is reused"""
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode()
    for attempt in (1, 2):
        conn = _keep.pop(port, None)
        reused = conn is not None
        if conn is None and TLS:
            conn = HTTPSConnection(HOST, port, timeout=timeout * SCALE,
                                   context=TLS)
        elif conn is None:
            conn = HTTPConnection(HOST, port, timeout=timeout * SCALE)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
        except (RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            conn.close()
            if reused and attempt == 1:
                # the server had closed the idle connection: nothing of
                # this request was read, send it again on a new one
                continue
            raise
        if r.will_close:
            conn.close()
        else:
            _keep[port] = conn
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def publish(port, body, path="/pub", expect=202):
    status, _, data = request(port, "POST", path, body)
    if status != expect:
        raise AssertionError("publish to %s: %d %r" % (path, status, data))
    return json.loads(data) if data else None


def info(port, query, path="/pub"):
    status, _, data = request(port, "GET", path + "?" + query)
    if status != 200:
        raise AssertionError("info %s: %d %r" % (query, status, data))
    return json.loads(data)


def settle(port):
    """Returns once nginx has run whatever a request it answered before
    the call left for later (nginx may write to subscribers in the loop
    iteration after a publish).  Two requests in turn: the second one can
    only be read in an iteration that starts after the one that answered
    the first, and every iteration ends by running its posted events."""
    for _ in range(2):
        status, _, _ = request(port, "GET", "/pub?channel=settle")
        if status != 200:
            raise AssertionError("GET /pub?channel=settle: %d" % status)


def wait_subscribers(port, query, n, path="/pub", timeout=10):
    """Polls the channel (or user) info until it has n subscribers."""
    deadline = time.monotonic() + timeout * SCALE
    while True:
        got = info(port, query, path)["subscribers"]
        if got == n:
            return
        if time.monotonic() > deadline:
            raise Timeout("%s has %d subscribers, not %d" % (query, got, n))
        time.sleep(0.02)
