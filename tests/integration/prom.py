#!/usr/bin/python3
"""Reads a Prometheus text scrape with prometheus_client's own parser
(Debian's python3-prometheus-client), so that what vcode writes is read as
Prometheus reads it.

  prom.py check FILE           "ok", or each problem found, one per line:
                               a line the parser refuses, a name without
                               vcode_, a counter without _total, a label
                               holding digits that look like a mobile, a
                               histogram whose buckets fall or whose +Inf
                               is not its count
  prom.py get FILE SEL...      the value of each sample SEL, one per line,
                               SEL as name{label="v",...} (labels in any
                               order); 0 when absent
  prom.py sum FILE NAME [L=V]  the sum of NAME's samples whose labels
                               include every L=V given
"""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def samples(text):
    out = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.append((fam, s.name, dict(s.labels), s.value))
    return out


def parse_sel(sel):
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?', sel)
    if not m:
        raise SystemExit("bad selector: " + sel)
    labels = dict(re.findall(r'([a-zA-Z_]+)="([^"]*)"', m.group(2) or ""))
    return m.group(1), labels


def check(text):
    problems = []
    try:
        ss = samples(text)
    except Exception as e:  # the parser's refusal is the finding
        return ["parser: %s" % e]
    hist = {}
    for fam, name, labels, value in ss:
        if not name.startswith("vcode_"):
            problems.append("name without vcode_: " + name)
        if fam.type == "counter" and not name.endswith("_total") and \
                not name.endswith("_created"):
            problems.append("counter without _total: " + name)
        for v in labels.values():
            if re.search(r'\d{7,}', v):
                problems.append("label looks like a number: %s %s" %
                                (name, labels))
        if fam.type == "histogram":
            key = (fam.name, tuple(sorted((k, v) for k, v in labels.items()
                                          if k != "le")))
            h = hist.setdefault(key, {"buckets": [], "count": None})
            if name.endswith("_bucket"):
                le = labels["le"]
                h["buckets"].append((float("inf") if le == "+Inf"
                                     else float(le), value))
            elif name.endswith("_count"):
                h["count"] = value
    for key, h in hist.items():
        b = sorted(h["buckets"])
        vals = [v for _, v in b]
        if vals != sorted(vals):
            problems.append("buckets fall: %s %s" % (key, b))
        if not b or b[-1][0] != float("inf") or b[-1][1] != h["count"]:
            problems.append("+Inf is not the count: %s" % (key,))
    return problems or ["ok"]


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if cmd == "check":
        print("\n".join(check(text)))
        return
    ss = samples(text)
    if cmd == "get":
        for sel in sys.argv[3:]:
            name, want = parse_sel(sel)
            vals = [v for _, n, l, v in ss if n == name and l == want]
            print("%g" % (vals[0] if vals else 0))
    elif cmd == "sum":
        name = sys.argv[3]
        want = dict(a.split("=", 1) for a in sys.argv[4:])
        print("%g" % sum(v for _, n, l, v in ss if n == name and
                         all(l.get(k) == v2 for k, v2 in want.items())))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
