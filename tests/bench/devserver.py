"""The local dev server's keep-alive round trip, with and without TCP_NODELAY on accepted sockets.

    .venv/bin/python -m tests.bench.devserver

Chalice writes a response's headers and body separately; without TCP_NODELAY the body waits for the client's
delayed ACK. Each variant serves 60 requests of the docs page (no database) over one keep-alive connection; the
median of the last 50 is printed, twice per variant, interleaved. Not part of `make bench`: a local-server figure.
"""
from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from typing import Any


def _median_round_trip_ms(server_cls: Any) -> float:
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app

    config = Config.create(chalice_stage="local", app_name="wealthdesk", chalice_app=app)
    server = LocalDevServer(app, config, host="127.0.0.1", port=0, server_cls=server_cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server.server_address[1], timeout=5)
    times = []
    try:
        for _ in range(60):
            started = time.perf_counter()
            conn.request("GET", "/v1/docs")
            conn.getresponse().read()
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
        server.server.shutdown()
        server.server.server_close()
    return statistics.median(times[10:]) * 1000


def main() -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from chalicelib.cli import _one_request_at_a_time

    with_nodelay = _one_request_at_a_time()

    class WithoutNodelay(with_nodelay):  # type: ignore[misc, valid-type]
        def get_request(self) -> Any:
            return super(with_nodelay, self).get_request()  # skips the TCP_NODELAY step

    for name, cls in (("TCP_NODELAY", with_nodelay), ("without", WithoutNodelay)) * 2:
        print(f"{name}: median keep-alive round trip {_median_round_trip_ms(cls):.2f} ms")


if __name__ == "__main__":
    main()
