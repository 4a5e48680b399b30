#!/usr/bin/python3
"""A fake Redis that answers whatever RESP a test asks, for
t/407-redis-hostile.t.

    fakeredis.py --port N [--password P] [--rule 'GLOB=RESP' ...]

reads lines "push RESP" on stdin and sends RESP on every subscribe link
(RESP in Python bytes escapes: '*1\\r\\n:1\\r\\n').  As a library:

    fake = FakeRedis(port, password=None).start()
    fake.rule("FCALL ws_perf_publish *", b"*1\\r\\n:1\\r\\n")   # once
    fake.push(b"*3\\r\\n...")          # on every connection that subscribed
    fake.wait("SUBSCRIBE *ws_perf:ch:news*")
    fake.stop()

Unless a rule says otherwise it answers like a real server: AUTH (against
the password given), SELECT, FUNCTION LOAD, PING, SUBSCRIBE and
UNSUBSCRIBE, PUBLISH to its own subscribers, HSET/HDEL/SET, and the
module's functions (ws_perf_publish publishes the wire form,
ws_perf_admit admits; the others answer "nothing there").  A rule is a glob over the command's words
joined by spaces (bytes as latin-1); its answer is sent instead of the
real one, or the connection is closed when the answer is None; an
empty answer is no answer at all.

FakeClusterNode is the same server as one node of a Redis Cluster, for
t/417-redis-cluster-hostile.t: CLUSTER SLOTS answers the map its
FakeCluster holds (the maps queued with serve() first, one per ask, then
the sane one), SSUBSCRIBE and SUNSUBSCRIBE confirm with sharded pushes
(or answer MOVED for a slot another node serves) and a publish reaches
the subscribers as "smessage".
"""

import argparse
import codecs
import fnmatch
import selectors
import socket
import sys
import threading
import time


def bulk(b):
    if b is None:
        return b"$-1\r\n"
    if isinstance(b, str):
        b = b.encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


def array(items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def integer(n):
    return b":%d\r\n" % n


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.subs = set()
        self.asked = False          # CLUSTER SLOTS came on it
        self.asking = False         # the last command was ASKING
        self.authed = False
        self.closed = False


class FakeRedis:
    MESSAGE = b"message"            # the kind of a published message

    def __init__(self, port, password=None, user=None):
        self.port = port
        self.password = password
        self.user = user
        self.rules = []             # [glob, answer, times left or None]
        self.log = []               # every command, as its words joined
        self.lock = threading.Lock()
        self.clients = []
        self.hashes = {}
        self.seq = 0
        self.running = False

    # ------------------------------------------------------------ control

    def start(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        self.thread.join(5)
        with self.lock:
            for c in self.clients:
                c.sock.close()
            self.clients = []
        self.lsock.close()

    def rule(self, glob, answer, times=1):
        """answer: raw RESP bytes, or None to close the connection;
        times: how many commands it answers (None: all)"""
        with self.lock:
            self.rules.append([glob, answer, times])

    def clear_rules(self):
        with self.lock:
            self.rules = []

    def push(self, raw):
        """raw bytes to every connection that has a subscription"""
        with self.lock:
            n = 0
            for c in self.clients:
                if c.subs and not c.closed:
                    self._send(c, raw)
                    n += 1
            return n

    def drop_clients(self):
        """closes every connection, as a server that went away would"""
        with self.lock:
            clients = list(self.clients)
        for c in clients:
            self._close(c)
        return len(clients)

    def count(self, glob):
        with self.lock:
            return sum(1 for cmd in self.log if fnmatch.fnmatchcase(cmd, glob))

    def wait(self, glob, n=1, timeout=10):
        deadline = time.monotonic() + timeout
        while self.count(glob) < n:
            if time.monotonic() > deadline:
                raise TimeoutError("the fake redis did not get %d of %r"
                                   % (n, glob))
            time.sleep(0.01)

    def subscribers(self, channel):
        with self.lock:
            return sum(1 for c in self.clients
                       if not c.closed and channel in c.subs)

    # ------------------------------------------------------------ serving

    def _loop(self):
        while self.running:
            for key, _ in self.sel.select(0.05):
                if key.data is None:
                    try:
                        s, _ = self.lsock.accept()
                    except BlockingIOError:
                        continue
                    s.setblocking(True)
                    c = Client(s)
                    with self.lock:
                        self.clients.append(c)
                    self.sel.register(s, selectors.EVENT_READ, c)
                else:
                    self._read(key.data)

    def _read(self, c):
        try:
            data = c.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._close(c)
            return
        c.buf += data
        while not c.closed:
            cmd = self._parse(c)
            if cmd is None:
                break
            with self.lock:
                self._command(c, cmd)

    def _close(self, c):
        if c.closed:
            return
        c.closed = True
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        with self.lock:
            if c in self.clients:
                self.clients.remove(c)

    def _parse(self, c):
        """one multibulk command off c.buf, or None when incomplete"""
        buf = c.buf
        if not buf.startswith(b"*"):
            if b"\r\n" not in buf:
                return None
            line, c.buf = buf.split(b"\r\n", 1)
            return line.split()
        end = buf.find(b"\r\n")
        if end < 0:
            return None
        n = int(buf[1:end])
        pos = end + 2
        words = []
        for _ in range(n):
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return None
            size = int(buf[pos + 1:end])
            if len(buf) < end + 2 + size + 2:
                return None
            words.append(buf[end + 2:end + 2 + size])
            pos = end + 2 + size + 2
        c.buf = buf[pos:]
        return words

    def _send(self, c, raw):
        try:
            c.sock.sendall(raw)
        except OSError:
            pass

    def _command(self, c, words):
        text = " ".join(w.decode("latin-1") for w in words)
        self.log.append(text)
        for r in self.rules:
            if r[2] != 0 and fnmatch.fnmatchcase(text, r[0]):
                if r[2] is not None:
                    r[2] -= 1
                if r[1] is None:
                    self.lock.release()
                    try:
                        self._close(c)
                    finally:
                        self.lock.acquire()
                else:
                    self._send(c, r[1])
                return
        self._send(c, self._answer(c, words))

    def _answer(self, c, words):
        name = words[0].upper()
        args = words[1:]
        if name == b"AUTH":
            ok = (self.password is not None
                  and args[-1].decode("latin-1") == self.password
                  and (len(args) == 1 or self.user is None
                       or args[0].decode("latin-1") == self.user))
            c.authed = ok
            return (b"+OK\r\n" if ok else
                    b"-WRONGPASS invalid username-password pair or user is"
                    b" disabled.\r\n")
        if self.password is not None and not c.authed:
            return b"-NOAUTH Authentication required.\r\n"
        if name in (b"SUBSCRIBE", b"UNSUBSCRIBE"):
            out = b""
            for ch in args:
                if name == b"SUBSCRIBE":
                    c.subs.add(ch)
                else:
                    c.subs.discard(ch)
                out += array([bulk(name.lower()), bulk(ch),
                              integer(len(c.subs))])
            return out
        if name == b"PUBLISH":
            return integer(self._publish(args[0], args[1]))
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"FUNCTION":
            return bulk(b"ws_perf")
        if name == b"HSET":
            h = self.hashes.setdefault(args[0], {})
            for i in range(1, len(args) - 1, 2):
                h[args[i]] = args[i + 1]
            return integer(1)
        if name == b"HDEL":
            h = self.hashes.get(args[0], {})
            return integer(sum(1 for f in args[1:] if h.pop(f, None)))
        if name == b"XRANGE":
            return b"*0\r\n"
        if name == b"FCALL":
            return self._fcall(args[0].decode("latin-1"), args)
        return b"+OK\r\n"

    def _publish(self, channel, message):
        n = 0
        for o in self.clients:
            if channel in o.subs and not o.closed:
                self._send(o, array([bulk(self.MESSAGE), bulk(channel),
                                     bulk(message)]))
                n += 1
        return n

    def _fcall(self, fn, args):
        keys = args[2:2 + int(args[1])]
        argv = args[2 + int(args[1]):]
        if fn == "ws_perf_publish":
            self.seq += 1
            prio = argv[1] if len(argv) > 1 and argv[1] else b"normal"
            flags = argv[2] if len(argv) > 2 and argv[2] else b"-"
            mid = argv[3] if len(argv) > 3 and argv[3] else b"%d" % self.seq
            wire = b"v1 %s %s %d %s\n%s" % (mid, prio,
                                           int(time.time() * 1000), flags,
                                           argv[0])
            return array([bulk(mid), integer(self._publish(keys[0], wire))])
        if fn == "ws_perf_info":
            h = self.hashes.get(keys[1], {})
            subs = sum(int(v) for v in h.values())
            return array([integer(subs), integer(self.seq),
                          integer(len(h))])
        if fn == "ws_perf_resume":
            return array([integer(0), bulk(b"0"), integer(0)])
        if fn == "ws_perf_redeliver":
            return array([integer(0), integer(0)])
        if fn == "ws_perf_schedule":
            return bulk(b"s1")
        if fn == "ws_perf_dlq_list":
            return array([bulk(b""), b"*0\r\n"])
        if fn == "ws_perf_admit":
            return array([integer(1), integer(1)])
        return integer(0)


def slots_map(ranges):
    """CLUSTER SLOTS of [(start, end, host, port)], host bytes or None"""
    return array([array([integer(lo), integer(hi),
                         array([bulk(host), integer(port), bulk(b"id")])])
                  for lo, hi, host, port in ranges])


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xffff
    return crc


def keyslot(key):
    i = key.find(b"{")
    if i >= 0:
        j = key.find(b"}", i + 1)
        if j > i + 1:
            key = key[i + 1:j]
    return crc16(key) & 16383


class FakeCluster:
    """What the nodes of a fake cluster share: the map they answer, and
    which of them serves each slot (the others answer MOVED)."""

    def __init__(self, ranges):
        self.queue = []             # maps answered first, one per ask
        self.nodes = []
        self.maker = None           # or the i-th map, when none is queued
        self.made = 0
        self.set_map(ranges)

    def set_map(self, ranges):
        self.ranges = ranges
        self.sane = slots_map(ranges)

    def owner(self, key):
        s = keyslot(key)
        for lo, hi, host, port in self.ranges:
            if lo <= s <= hi:
                return s, host, port
        return s, None, None

    def node(self, port):
        n = FakeClusterNode(port, self).start()
        self.nodes.append(n)
        return n

    def serve(self, *answers):
        """the next asks get these answers (RESP bytes, or b"" for none)"""
        with self.nodes[0].lock:
            self.queue.extend(answers)

    def left(self):
        return len(self.queue)

    def answer(self):
        if self.queue:
            return self.queue.pop(0)
        if self.maker:
            self.made += 1
            return self.maker(self.made - 1)
        return self.sane

    def drop_map_links(self):
        """closes the connections that asked for the map"""
        n = 0
        for node in self.nodes:
            with node.lock:
                asked = [c for c in node.clients if c.asked]
            for c in asked:
                node._close(c)
                n += 1
        return n

    def stop(self):
        for node in self.nodes:
            if node.running:
                node.stop()


class FakeClusterNode(FakeRedis):
    MESSAGE = b"smessage"

    def __init__(self, port, cluster):
        FakeRedis.__init__(self, port)
        self.cluster = cluster
        self.lock = cluster.nodes[0].lock if cluster.nodes else self.lock

    def _answer(self, c, words):
        name = words[0].upper()
        if name == b"CLUSTER" and len(words) > 1 \
                and words[1].upper() == b"SLOTS":
            c.asked = True
            return self.cluster.answer()
        if name in (b"SSUBSCRIBE", b"SUNSUBSCRIBE"):
            s, host, port = self.cluster.owner(words[-1])
            if port is not None and port != self.port:
                return b"-MOVED %d %s:%d\r\n" % (s, host, port)
            out = b""
            for ch in words[1:]:
                if name == b"SSUBSCRIBE":
                    c.subs.add(ch)
                else:
                    c.subs.discard(ch)
                out += array([bulk(name.lower()), bulk(ch),
                              integer(len(c.subs))])
            return out
        if name == b"PING" and c.subs:
            return array([bulk(b"pong"), bulk(b"")])
        asking, c.asking = c.asking, name == b"ASKING"
        if name == b"FCALL" and len(words) > 3 and words[2] != b"0" \
                and not asking:
            s, host, port = self.cluster.owner(words[3])
            if port is not None and port != self.port:
                return b"-MOVED %d %s:%d\r\n" % (s, host, port)
        return FakeRedis._answer(self, c, words)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--password")
    ap.add_argument("--rule", action="append", default=[],
                    help="GLOB=RESP, RESP in Python bytes escapes;"
                         " GLOB= closes the connection")
    a = ap.parse_args()
    fake = FakeRedis(a.port, a.password)
    for r in a.rule:
        glob, raw = r.split("=", 1)
        fake.rule(glob, codecs.escape_decode(raw)[0] if raw else None,
                  times=None)
    fake.start()
    for line in sys.stdin:
        if line.startswith("push "):
            fake.push(codecs.escape_decode(line[5:].rstrip("\n"))[0])
    fake.stop()


if __name__ == "__main__":
    main()
