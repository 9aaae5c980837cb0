#!/usr/bin/env python3
"""connect-proxy.py PORTFILE LOG: a tiny forward proxy for the integration tests.

Listens on 127.0.0.1 (port written to PORTFILE) and writes one JSON line per
event to LOG: "accept" for every connection; "connect" with the request line
and whether a Proxy-Authorization header came (and its value matches
$PROXY_EXPECT_AUTH, "Basic base64(user:password)"); "tunnel" when a tunnel
closes, with the bytes that went up and whether any of them was readable
plaintext of the request (the words in $PROXY_NEEDLES, comma-separated, are
looked for; they are never written out). CONNECT host:port is tunnelled to
127.0.0.1:port whatever the host; any other request gets a 502.
"""
import json
import os
import socket
import sys
import threading

lock = threading.Lock()


def log(path, obj):
    with lock, open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def pump(src, dst, seen):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            if seen is not None:
                seen.append(b)
            dst.sendall(b)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(conn, logpath):
    log(logpath, {"event": "accept"})
    conn.settimeout(30)
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        b = conn.recv(4096)
        if not b:
            conn.close()
            return
        head += b
    text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = text.split("\r\n")
    auth = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("proxy-authorization:")]
    want = os.environ.get("PROXY_EXPECT_AUTH", "")
    parts = lines[0].split()
    if len(parts) != 3 or parts[0] != "CONNECT":
        log(logpath, {"event": "request", "line": " ".join(parts[:1])})
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()
        return
    port = int(parts[1].rsplit(":", 1)[1])
    up = socket.create_connection(("127.0.0.1", port), timeout=30)
    log(logpath, {"event": "connect", "line": lines[0], "auth": bool(auth),
                  "auth_ok": bool(auth) and bool(want) and auth[0] == want})
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    seen = []
    t = threading.Thread(target=pump, args=(up, conn, None), daemon=True)
    t.start()
    pump(conn, up, seen)
    t.join(30)
    data = b"".join(seen)
    needles = [n for n in os.environ.get("PROXY_NEEDLES", "").split(",") if n]
    plain = any(n.encode() in data for n in needles)
    log(logpath, {"event": "tunnel", "up_bytes": len(data), "plaintext": plain,
                  "tls": data[:1] == b"\x16"})
    conn.close()
    up.close()


def main():
    portfile, logpath = sys.argv[1], sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    open(logpath, "a").close()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, logpath), daemon=True).start()


if __name__ == "__main__":
    main()
