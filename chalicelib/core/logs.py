"""Logging: JSON lines on stdout (CloudWatch in AWS), one per request (core/http.py) and per job run."""
from __future__ import annotations

import logging
import sys

from chalicelib.core import config


def configure_logging() -> None:
    """Called by app.py at import; idempotent."""
    root = logging.getLogger("wdk")
    if getattr(root, "_wealthdesk_configured", False):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(config.settings().log_level.upper())
    root.propagate = False
    root._wealthdesk_configured = True  # type: ignore[attr-defined]
