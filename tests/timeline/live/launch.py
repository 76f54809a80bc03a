"""`python -m tests.timeline.live.launch ARGS…`: the real `timeline ARGS…`, with the SSE stream's timers
shortened from the environment, so that tests of keep-alives and of a reader that never drains take
seconds instead of the production 15 s (`PING_EVERY`) and 30 s (`SEND_TIMEOUT`).

`LIVE_TEST_PING_EVERY`, `LIVE_TEST_SEND_TIMEOUT`: seconds; unset keeps the production value.
"""

from __future__ import annotations

import os

from timeline.api import fanout, stream
from timeline.cli import main

if __name__ == "__main__":
    fanout.PING_EVERY = float(os.environ.get("LIVE_TEST_PING_EVERY", fanout.PING_EVERY))
    stream.SEND_TIMEOUT = float(os.environ.get("LIVE_TEST_SEND_TIMEOUT", stream.SEND_TIMEOUT))
    main(prog_name="timeline")
