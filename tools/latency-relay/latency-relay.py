#!/usr/bin/env python3
"""A TCP relay on loopback that delays each direction by a fixed time.

It stands in for a network path when the kernel's netem is not available:
every chunk read from one side is written to the other side DELAY_MS later
(order kept, no rate limit), so a round trip through it costs 2 * DELAY_MS.
A connection closed on one side is closed on the other after the same delay.

    latency-relay.py --listen 127.0.0.1:0 --to 127.0.0.1:8443 --delay-ms 25 \
        [--port-file F]

Used by tools/bench/pause-bench.sh and tests/integration/t69-warm.sh.
"""
import argparse
import asyncio
import os
import signal
import sys


async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def feed():
        while True:
            try:
                data = await reader.read(65536)
            except (ConnectionError, OSError):
                data = b""
            await queue.put((loop.time() + delay, data))
            if not data:
                return

    async def drain():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                return

    await asyncio.gather(feed(), drain())


async def handle(client_r, client_w, target, delay):
    try:
        up_r, up_w = await asyncio.open_connection(*target)
    except OSError:
        client_w.close()
        return
    # The kernel completed the client's connect at once; over a real path the
    # handshake costs a round trip before its first byte leaves, which then
    # takes another DELAY to arrive.
    await asyncio.sleep(2 * delay)
    try:
        await asyncio.gather(pump(client_r, up_w, delay), pump(up_r, client_w, delay))
    finally:
        for w in (client_w, up_w):
            w.close()


def host_port(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT (port 0: any)")
    ap.add_argument("--to", required=True, help="HOST:PORT to relay to")
    ap.add_argument("--delay-ms", type=float, required=True, help="one-way delay")
    ap.add_argument("--port-file", help="write the bound port here")
    a = ap.parse_args()
    delay = a.delay_ms / 1000.0
    target = host_port(a.to)
    lhost, lport = host_port(a.listen)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target, delay), lhost, lport)
    port = server.sockets[0].getsockname()[1]
    if a.port_file:
        tmp = f"{a.port_file}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, a.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
