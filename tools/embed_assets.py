#!/usr/bin/env python3
"""Embed the status page's files into C (runtime/pageassets.h).

usage: embed_assets.py OUT.c FILE...

Each file becomes a byte array with its content type (from the extension)
and an ETag (the first 16 hex digits of its SHA-256). Only the Python
standard library: no dependency beyond Debian's python3."""
import hashlib
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    lines = ['#include "runtime/pageassets.h"', ""]
    entries = []
    for i, path in enumerate(files):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit("embed_assets.py: no content type for %s" % name)
        data = open(path, "rb").read()
        etag = hashlib.sha256(data).hexdigest()[:16]
        body = ",".join(str(b) for b in data)
        lines.append("static const unsigned char a%d[] = {%s};" % (i, body or "0"))
        entries.append('  {"%s", "%s", a%d, %d, "\\"%s\\""},' % (name, TYPES[ext], i, len(data), etag))
    lines.append("const struct qcc_page_asset qcc_page_assets[] = {")
    lines.extend(entries)
    lines.append("};")
    lines.append("const size_t qcc_page_asset_count = %d;" % len(files))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
