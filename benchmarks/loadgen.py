"""A small HTTP/1.1 load generator: N concurrent keep-alive clients on loopback.

    python -m benchmarks.loadgen URL PAYLOADS.json --clients 16 --seconds 5

PAYLOADS.json is a list of ``{"body": {...}, "result": ...}``: each client
posts the bodies in turn (JSON) to URL and checks every answer — status 200,
no ``error`` member, and ``result`` equal to the expected one; anything else
(including a dropped connection or a timeout) counts as an error. Prints one
JSON line: calls, errors, seconds, calls per second and latency percentiles.

It is written on asyncio streams (no HTTP library) so that the client spends
as little CPU as possible: on a 2-core machine it shares the cores with the
server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


def _request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
    return head.encode("ascii") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size + 2)
            body = body[:-2]
        return status, body
    return status, await reader.readexactly(length or 0)


async def _client(url: str, payloads: list[dict], until: float, stats: dict, offset: int, timeout: float) -> None:
    parts = urlsplit(url)
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    requests = [_request(host, port, path, json.dumps(p["body"]).encode()) for p in payloads]
    expected = [p["result"] for p in payloads]
    reader = writer = None
    i = offset
    while time.perf_counter() < until:
        k = i % len(requests)
        i += 1
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(requests[k])
            status, body = await asyncio.wait_for(_read_response(reader), timeout)
            ok = status == 200
            if ok:
                data = json.loads(body)
                ok = "error" not in data and data.get("result") == expected[k]
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            ok = False
            if writer is not None:
                writer.close()
            reader = writer = None
        dt = time.perf_counter() - t0
        if time.perf_counter() <= until:
            stats["latencies"].append(dt)
            stats["calls"] += 1
            stats["errors"] += 0 if ok else 1
    if writer is not None:
        writer.close()


async def run(url: str, payloads: list[dict], clients: int, seconds: float, timeout: float = 30.0) -> dict:
    stats = {"calls": 0, "errors": 0, "latencies": []}
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(_client(url, payloads, until, stats, j, timeout) for j in range(clients)))
    elapsed = time.perf_counter() - start
    lat = sorted(stats["latencies"])

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * (len(lat) - 1) + 0.5))] if lat else float("nan")

    return {"calls": stats["calls"], "errors": stats["errors"], "seconds": elapsed,
            "calls_per_s": stats["calls"] / elapsed, "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("payloads")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=5.0)
    a = p.parse_args(argv)
    with open(a.payloads, encoding="utf-8") as fh:
        payloads = json.load(fh)
    try:
        import uvloop  # a faster event loop when installed (uvicorn[standard] brings it)

        runner = uvloop.run
    except (ImportError, AttributeError):
        runner = asyncio.run
    print(json.dumps(runner(run(a.url, payloads, a.clients, a.seconds))))


if __name__ == "__main__":
    main()
