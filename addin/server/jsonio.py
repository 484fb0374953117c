"""Parsing a call's JSON body: orjson when it is installed, the standard library otherwise.

A 1,000,000-cell call is a 5 MB body; parsing it is the largest single step of
the call (benchmarks/bench_server.py measures both parsers beside the call).
orjson (an optional dependency of the ``server`` extra) parses it faster. It is
only a fast path: whatever orjson refuses — malformed JSON, ``NaN``, a lone
UTF-16 surrogate, text that is not UTF-8, a number beyond a double — is parsed
again by :func:`json.loads`, so every refusal, and every message, is the
standard library's, exactly as without orjson. What orjson accepts, the
standard library reads as the same values (duplicate keys: the last wins; an
integer beyond 64 bits: orjson gives the nearest double, which is what the
request cleaning makes of the standard library's integer).

Answers are written with the standard library (:func:`dumps`): orjson writes a
non-finite number as ``null``, which would turn a result JSON cannot hold into
a blank cell instead of an error; the answers of large calls are small (a
scalar, a table of months).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["FAST_PARSER", "dumps", "fast_loads"]

_orjson_loads: Callable[[bytes], Any] | None
try:
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - the server extra installs it
    _orjson_loads = None

#: the parser in use for request bodies: ``"orjson"`` or ``"json"``
FAST_PARSER = "orjson" if _orjson_loads is not None else "json"


def fast_loads(body: bytes) -> tuple[bool, Any]:
    """``(True, value)`` when the fast parser reads ``body``; ``(False, None)`` when it refuses
    it (or is not installed) and the standard library must parse it."""
    if _orjson_loads is None:
        return False, None
    try:
        return True, _orjson_loads(body)
    except (ValueError, TypeError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        return False, None


def dumps(payload: Any) -> bytes:
    """An answer as Starlette's JSONResponse renders it (no NaN, no spaces, UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")
