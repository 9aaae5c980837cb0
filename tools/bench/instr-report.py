#!/usr/bin/env python3
"""instr-report.py: the arithmetic and the table of tools/bench/instr-bench.sh.

   instr-report.py RUNS_JSONL JSON_OUT META NOT_RUN SMOKE(0|1) [OUT_NAME]

NOT_RUN is {"skipped": {target: why}, "failed": {target: what went wrong}}.

Reads the callgrind files of every run (base = start + probe + warm-up + stop,
full = base + N measured requests), computes instructions per request as
(full - base) / N, splits it by shared object (self cost) and function, prints
the table and writes JSON_OUT. With SMOKE=1 it reads JSON_OUT back and fails
unless no target failed and every one that ran has a positive instructions/request.
"""
import json
import os
import re
import statistics
import sys

ORDER = ["qcc", "nginx", "haproxy"]
CASES = ["json", "sse"]
NAME = {"qcc": "qcc-run", "nginx": "nginx", "haproxy": "haproxy"}


def parse_callgrind(path):
    """Returns (totals, self cost by object, self cost by (object, function),
    inclusive cost of calls into libc + ld.so by calling object).

    Self cost: every cost line is charged to the current ob=/fn=, except the
    line after calls=, which is the inclusive cost of that call. Names may be
    compressed as "(id) name" once and "(id)" after; ob/cob share ids, as do
    fn/cfn and fl/fi/fe/cfi/cfl."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    space = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn",
             "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl"}
    npos = 1
    ir_col = 0
    totals = None
    ob = fn = "???"
    cob = None
    after_call = False
    by_obj = {}
    by_fn = {}
    compressed = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def name(kind, value):
        m = compressed.match(value)
        if not m:
            return value
        table = names[space[kind]]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), "???")

    calls = []  # (caller ob, caller fn, callee ob, callee fn, inclusive cost)
    cfn = "???"
    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                fields = line.split()
                cost = int(fields[npos + ir_col]) if len(fields) > npos + ir_col else 0
                if after_call:
                    calls.append((ob, fn, cob if cob is not None else ob, cfn, cost))
                    after_call = False
                    cob = None
                    continue
                by_obj[ob] = by_obj.get(ob, 0) + cost
                key = (ob, fn)
                by_fn[key] = by_fn.get(key, 0) + cost
                continue
            line = line.rstrip("\n")
            key, sep, value = line.partition("=")
            if sep and key in space:
                v = name(key, value)
                if key == "ob":
                    ob = v
                elif key == "fn":
                    fn = v
                elif key == "cob":
                    cob = v
                elif key == "cfn":
                    cfn = v
                continue
            if line.startswith("calls="):
                after_call = True
            elif line.startswith("positions:"):
                npos = len(line.split()[1:])
            elif line.startswith("events:"):
                ir_col = line.split()[1:].index("Ir")
            elif line.startswith("totals:"):
                totals = int(line.split()[1 + ir_col])
    if totals is None:
        raise ValueError("%s: no totals line (callgrind did not finish)" % path)
    counted = sum(by_obj.values())
    if counted != totals:
        # The parser and callgrind must agree, or the breakdown is wrong.
        raise ValueError("%s: self costs sum to %d, totals say %d" % (path, counted, totals))
    return totals, by_obj, by_fn, crt_callers(calls)


def crt_callers(calls):
    """Inclusive cost of calls into the C runtime (libc, ld.so, and valgrind's
    object-less redirects of strlen and co.), by calling object: whose malloc
    and memcpy are they? A runtime function that leads back out of it
    (__libc_start_main -> main, qsort -> a comparator, exit -> destructors)
    would count its caller's whole tree, so calls to such functions are left
    out; they are start and stop, not per request."""
    inner = {}      # runtime fn -> runtime fns it calls
    escapes = set()
    for o, f, co, cf, _ in calls:
        if is_crt(o):
            if is_crt(co):
                inner.setdefault(f, set()).add(cf)
            else:
                escapes.add(f)
    changed = True
    while changed:  # a function escapes if anything it calls in the runtime does
        changed = False
        for f, callees in inner.items():
            if f not in escapes and callees & escapes:
                escapes.add(f)
                changed = True
    out = {}
    for o, f, co, cf, cost in calls:
        if is_crt(co) and not is_crt(o) and cf not in escapes:
            out[o] = out.get(o, 0) + cost
    return out


def is_crt(ob):
    b = os.path.basename(ob)
    return b == "???" or b.startswith("libc.so") or b.startswith("ld-linux")


def short(ob):
    """/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0 -> libcurl; an executable keeps its name."""
    b = os.path.basename(ob)
    if b == "???":
        return "??? (no object)"
    return b.split(".so")[0]


def add(dst, src, sign=1):
    for k, v in src.items():
        dst[k] = dst.get(k, 0) + sign * v


def load_run(run):
    total = 0
    by_obj, by_fn, crt_from = {}, {}, {}
    for path in run["callgrind_files"]:
        t, o, f, lf = parse_callgrind(path)
        total += t
        add(by_obj, o)
        add(by_fn, f)
        add(crt_from, lf)
    return total, by_obj, by_fn, crt_from


def per_req(full, base, n):
    keys = set(full) | set(base)
    return {k: (full.get(k, 0) - base.get(k, 0)) / n for k in keys}


def group(d):
    """Object paths -> short names (two paths may share one)."""
    out = {}
    for k, v in d.items():
        out[short(k)] = out.get(short(k), 0) + v
    return out


def nonzero(d):
    """Largest first; the dozens of libraries that ran nothing per request are left out."""
    return {k: v for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if abs(v) >= 0.5}


def main():
    runs_path, out_path, meta, not_run, smoke = sys.argv[1:6]
    out_name = sys.argv[6] if len(sys.argv) > 6 else ""
    meta, not_run, smoke = json.loads(meta), json.loads(not_run), smoke == "1"
    runs = [json.loads(l) for l in open(runs_path) if l.strip()]
    n, w = meta["requests"], meta["warmup_requests"]

    loaded = {}
    for r in runs:
        total, by_obj, by_fn, crt_from = load_run(r)
        r["total_instr"] = total
        loaded[(r["case"], r["target"], r["round"], r["phase"])] = (total, by_obj, by_fn, crt_from)

    results = {}
    for case in CASES:
        for t in ORDER:
            rounds = sorted({r["round"] for r in runs if r["case"] == case and r["target"] == t
                             and (case, t, r["round"], "full") in loaded
                             and (case, t, r["round"], "base") in loaded})
            if not rounds:
                continue
            pr = []
            for rd in rounds:
                b = loaded[(case, t, rd, "base")]
                f = loaded[(case, t, rd, "full")]
                pr.append(((f[0] - b[0]) / n, rd, b, f))
            pr.sort(key=lambda x: x[0])
            med = statistics.median([x[0] for x in pr])
            # The breakdown comes from the median round (the lower one of two),
            # so its parts add up to a number that was measured.
            ipr, rd, b, f = pr[(len(pr) - 1) // 2]
            objs = group(per_req(f[1], b[1], n))
            fns = per_req(f[2], b[2], n)
            top = sorted(fns.items(), key=lambda kv: -kv[1])[:20]
            crt_from = group(per_req(f[3], b[3], n))
            results.setdefault(case, {})[t] = {
                "instr_per_req": med,
                "instr_per_req_rounds": [x[0] for x in sorted(pr, key=lambda x: x[1])],
                "base_total": [loaded[(case, t, x, "base")][0] for x in rounds],
                "full_total": [loaded[(case, t, x, "full")][0] for x in rounds],
                # What one life of the proxy costs without the requests: start,
                # probe, stop (the warm-up's share taken out at the measured rate).
                "fixed_instr": b[0] - w * ipr,
                # With one start + stop spread over the N requests: what a single
                # callgrind run of N requests without warm-up would report.
                "with_start_per_req": ipr + (b[0] - w * ipr) / n,
                "breakdown_round": rd,
                "objects_per_req": nonzero(objs),
                "crt_entered_from_per_req": nonzero(crt_from),
                "top_functions_per_req": [{"function": fn, "object": short(ob), "instr": v}
                                          for (ob, fn), v in top],
            }
    for case, ts in results.items():
        for t, s in ts.items():
            for peer in ("haproxy", "nginx"):
                p = ts.get(peer)
                s["ratio_to_" + peer] = (s["instr_per_req"] / p["instr_per_req"]
                                         if p and p["instr_per_req"] > 0 else None)

    for r in runs:
        r.pop("callgrind_files", None)
    result = {"meta": meta, "skipped": not_run["skipped"], "failed": not_run["failed"],
              "results": results, "runs": runs}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    report(result)
    if out_name:
        print()
        print("results: " + out_name)
    if smoke:
        sys.exit(smoke_check(out_path))


def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v


def report(res):
    meta, results = res["meta"], res["results"]
    print()
    print("instructions per request (callgrind Ir, user space only): %d requests over %d "
          "connections after %d warm-up, SSE = %d events, %d round(s); %s" %
          (meta["requests"], meta["conns"], meta["warmup_requests"], meta["sse_events"],
           meta["rounds"], meta["date"]))
    print("method: %s" % meta["method"])
    for t, why in res["skipped"].items():
        print("SKIPPED %s: %s" % (NAME.get(t, t), why))
    for t, why in res["failed"].items():
        print("FAILED %s: %s" % (NAME.get(t, t), why))
    hdr = "%-5s %-8s %10s %8s %8s %16s %12s %11s" % (
        "case", "target", "instr/req", "/haproxy", "/nginx", "rounds min..max", "start+stop M",
        "+start/N")
    print()
    print(hdr)
    print("-" * len(hdr))
    for case in CASES:
        for t in ORDER:
            s = results.get(case, {}).get(t)
            if not s:
                continue
            rr = s["instr_per_req_rounds"]
            spread = "%.0f..%.0f" % (min(rr), max(rr)) if len(rr) > 1 else "-"
            print("%-5s %-8s %10.0f %8s %8s %16s %12.1f %11.0f" % (
                case, NAME[t], s["instr_per_req"], fmt(s["ratio_to_haproxy"], "%.2f"),
                fmt(s["ratio_to_nginx"], "%.2f"), spread, s["fixed_instr"] / 1e6,
                s["with_start_per_req"]))
    print("(instr/req: median over rounds of (full - base) / N; /haproxy, /nginx: that over the"
          " peer's;\n start+stop M: one life of the process without requests, millions;"
          " +start/N: instr/req with that spread over N)")
    print()
    print("peers by shared object (self cost per request):")
    for case in CASES:
        for t in ORDER[1:]:
            s = results.get(case, {}).get(t)
            if s:
                print("  %-5s %-8s %s" % (case, NAME[t], ", ".join(
                    "%s %.0f" % (k, v) for k, v in s["objects_per_req"].items()
                    if abs(v) >= 0.001 * s["instr_per_req"])))
    for case in CASES:
        s = results.get(case, {}).get("qcc")
        if not s:
            continue
        total = sum(s["objects_per_req"].values())  # = that round's instr/req
        print()
        print("qcc-run, %s: instructions/request by shared object (self cost; round %d)" %
              (case, s["breakdown_round"]))
        other = 0.0
        for ob, v in s["objects_per_req"].items():
            if abs(v) < 0.001 * total:
                other += v
                continue
            print("  %-22s %10.0f %6.1f%%" % (ob, v, 100.0 * v / total))
        if other:
            print("  %-22s %10.0f %6.1f%%" % ("(others)", other, 100.0 * other / total))
        lf = {k: v for k, v in s["crt_entered_from_per_req"].items() if abs(v) >= 0.001 * total}
        if lf:
            print("  libc + ld.so entered from (inclusive): " +
                  ", ".join("%s %.0f" % (k, v) for k, v in lf.items()))
        print("  top functions (self):")
        for e in s["top_functions_per_req"][:12]:
            print("    %9.0f  %s [%s]" % (e["instr"], e["function"], e["object"]))


def smoke_check(path):
    """The bench's own check, on the JSON as written: no target failed, at
    least one ran, and every one that ran has a positive instructions/request
    in every case. A target that is not installed is not a failure."""
    res = json.load(open(path))
    bad = ["%s: %s" % (t, why) for t, why in sorted(res["failed"].items())]
    ran = sorted({r["target"] for r in res["runs"]})
    for t in ran:
        for case in CASES:
            s = res["results"].get(case, {}).get(t) or {}
            v = s.get("instr_per_req")
            if not isinstance(v, (int, float)) or v <= 0:
                bad.append("%s %s: instructions/request %r, want > 0" % (case, t, v))
    if not ran:
        bad.append("no target ran (skipped: %s)" % res["skipped"])
    for b in bad:
        print("not ok - " + b)
    if bad:
        return 1
    print("ok - positive instructions/request for %s in %s" % (", ".join(ran), path))
    return 0


if __name__ == "__main__":
    main()
