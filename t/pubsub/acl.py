#!/usr/bin/python3
"""Redis ACL scenarios for t/412-redis-acl.t, run like client.py:

    acl.py --port N SCENARIO [key=value ...]

Besides its own, the scenarios of reliable.py run here.  The nginx of
the block talks to the test file's redis-server as a user whose rights
the block chose (t/412-redis-acl.t sets them up).
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import client                       # noqa: E402
import redis as rd                  # noqa: E402
import reliable                     # noqa: E402,F401  its scenarios
from client import out, scenario    # noqa: E402
from wsclient import request        # noqa: E402


def error_log():
    path = os.path.join(os.environ["TEST_NGINX_SERVER_ROOT"], "logs",
                        "error.log")
    with open(path, errors="replace") as f:
        return f.read()


@scenario
def refused(port, says, channel="acl"):
    """Redis refuses the links (a wrong password, no rights on the
    prefix's keys): once a worker has logged Redis's refusal, publishes
    are answered 503, never 2xx, and the reason names no secret."""
    rd.wait_for(lambda: says in error_log(), 10, "the refusal in the log")
    statuses = set()
    reasons = set()
    for i in range(5):
        st, _, body = request(port, "POST", "/pub",
                              {"channel": channel, "data": i})
        statuses.add(st)
        reasons.add(json.loads(body).get("error", ""))
        time.sleep(0.01)
    out("publishes: %s" % sorted(statuses))
    out("reason: %s" % " | ".join(sorted(reasons)))


@scenario
def granted(port, user="ann"):
    """The rule that docs/redis.md recommends is enough: the user the
    module logs in as holds it, and nothing more."""
    rules = rd.redis("ACL", "GETUSER", user)
    got = dict(zip(rules[::2], rules[1::2]))
    out("keys %s, channels %s, commands %s" % (got.get("keys"),
                                              got.get("channels"),
                                              got.get("commands")))
    rd.publish_ready(port, {"channel": "acl", "data": "x"})
    out("publish: 202")


if __name__ == "__main__":
    sys.exit(client.main())
