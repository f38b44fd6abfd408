#!/usr/bin/python3
# Compare what a Prometheus server holds for a ringfan cluster with the
# cluster's `ringfan stats --json`, for the exporter tests.
#
#   prom_compare.py PROM_URL JOB STATS_JSON
#
# Asks the server (HTTP API, instant query) for every ringfan_* series of
# the cluster scraped by JOB and checks that they are exactly the series
# the stats say there must be (ringfan-exporter(1)'s table), with the same
# values. The stats file is rewritten every second: compare once the
# counters stand still. What changes with each rewrite is checked loosely:
# the last update within 3 s, consumer_gone_seconds present and not
# negative. Exits 0 when they agree, 1 saying how they differ.
import json
import math
import sys
import urllib.parse
import urllib.request

DECODE = ["ok", "truncated", "malformed", "non_ip", "too_deep", "bad_linktype"]
FRAG = ["first", "tied", "held", "released", "expired", "table_full", "hold_full",
        "hold_big", "table_expired"]
DROPS = {"full": "dropped_full", "too_big": "dropped_toobig",
         "bad_cursor": "dropped_cursor", "egress_failed": "egress_failed"}
ANY = object()  # present, value not compared


class Near:  # within slack of value
    def __init__(self, value, slack):
        self.value, self.slack = value, slack


def expected(s):
    c = str(s["cluster"])
    out = {}

    def put(name, value, **labels):
        labels["cluster"] = c
        out[(name, tuple(sorted(labels.items())))] = value

    put("ringfan_balancer_up", 1 if s["alive"] else 0)
    put("ringfan_balancer_info", 1, mode=s["mode"], state=s["state"])
    put("ringfan_balancer_pid", s["pid"])
    put("ringfan_balancer_start_time_seconds", s["started_ns"] / 1e9)
    put("ringfan_balancer_last_update_time_seconds", Near(s["updated_ns"] / 1e9, 3))
    for src in s["sources"]:
        put("ringfan_source_received_packets_total", src["received"], source=src["name"])
        put("ringfan_source_received_bytes_total", src["bytes"], source=src["name"])
        put("ringfan_source_kernel_dropped_packets_total", src["kernel_drops"],
            source=src["name"])
    for g in s["groups"]:
        put("ringfan_group_received_packets_total", g["received"], group=str(g["group"]))
        put("ringfan_group_queues", g["queues"], group=str(g["group"]))
        flows = g.get("flows", {})
        put("ringfan_group_flow_table_entries", flows.get("table", 0), group=str(g["group"]))
        put("ringfan_group_flows_active", flows.get("active", 0), group=str(g["group"]))
        for e in ("created", "expired", "evicted", "shunted", "moved"):
            put("ringfan_group_flows_total", flows.get(e, 0), event=e, group=str(g["group"]))
        put("ringfan_group_flow_fallback_packets_total", flows.get("fallback_packets", 0),
            group=str(g["group"]))
    for q in s["queues"]:
        lab = {"queue": str(q["queue"]), "group": str(q["group"])}
        put("ringfan_queue_enqueued_packets_total", q["enqueued"], **lab)
        put("ringfan_queue_enqueued_bytes_total", q["bytes"], **lab)
        for reason, key in DROPS.items():
            put("ringfan_queue_dropped_packets_total", q.get(key, 0), reason=reason, **lab)
        put("ringfan_queue_filtered_packets_total", q["filtered"], **lab)
        put("ringfan_queue_deduplicated_packets_total", q["deduplicated"], **lab)
        put("ringfan_queue_shunted_packets_total", q["shunted"], **lab)
        put("ringfan_queue_failed_over", q["failed_over"], **lab)
        put("ringfan_queue_shunt_requests_total", q["shunt_requests"], outcome="honoured", **lab)
        put("ringfan_queue_shunt_requests_total", q["shunt_refused"], outcome="refused", **lab)
        put("ringfan_queue_consumer_read_packets_total", q["consumer_read"], **lab)
        put("ringfan_queue_backlog_packets", q["backlog_packets"], **lab)
        put("ringfan_queue_backlog_bytes", q["backlog_bytes"], **lab)
        put("ringfan_queue_ring_size_bytes", q["ring_size"], **lab)
        put("ringfan_queue_ring_fill_ratio", min(1.0, q["backlog_bytes"] / q["ring_size"]),
            **lab)
        attached = 1 if s["alive"] and q["consumer_pid"] else 0
        put("ringfan_queue_consumer_attached", attached, **lab)
        put("ringfan_queue_consumer_pid", q["consumer_pid"], **lab)
        put("ringfan_queue_consumer_gone_seconds", 0 if attached else ANY, **lab)
        put("ringfan_queue_generation", q["generation"], **lab)
        if "egress" in q:
            put("ringfan_egress_sent_packets_total", q["egress_sent"],
                queue=str(q["queue"]), egress=q["egress"])
            put("ringfan_egress_failed_packets_total", q["egress_failed"],
                queue=str(q["queue"]), egress=q["egress"])
    for r in DECODE:
        put("ringfan_decode_packets_total", s["decode"][r], reason=r)
    for e in FRAG:
        put("ringfan_fragment_events_total", s["fragments"][e], event=e)
    put("ringfan_fragments_held", s["fragments"]["held_now"])
    put("ringfan_dedup_evicted_total", s["dedup_evicted"])
    return out


def scraped(url, job, cluster):
    q = '{__name__=~"ringfan_.+",job="%s",cluster="%s"}' % (job, cluster)
    with urllib.request.urlopen(url + "/api/v1/query?" +
                                urllib.parse.urlencode({"query": q})) as r:
        res = json.load(r)
    if res["status"] != "success":
        sys.exit("query failed: %s" % res)
    out = {}
    for item in res["data"]["result"]:
        m = dict(item["metric"])
        name = m.pop("__name__")
        m.pop("job", None)
        m.pop("instance", None)
        out[(name, tuple(sorted(m.items())))] = float(item["value"][1])
    return out


def same(want, got):
    if want is ANY:
        return got >= 0
    if isinstance(want, Near):
        return abs(want.value - got) <= want.slack
    return math.isclose(float(want), got, rel_tol=1e-12, abs_tol=1e-9)


def main():
    url, job, stats = sys.argv[1:4]
    with open(stats) as f:
        s = json.load(f)
    want = expected(s)
    got = scraped(url, job, s["cluster"])
    problems = []
    for k in sorted(set(want) - set(got)):
        problems.append("missing in Prometheus: %s%s" % (k[0], dict(k[1])))
    for k in sorted(set(got) - set(want)):
        problems.append("unexpected in Prometheus: %s%s = %s" % (k[0], dict(k[1]), got[k]))
    for k in sorted(set(want) & set(got)):
        if not same(want[k], got[k]):
            w = want[k].value if isinstance(want[k], Near) else want[k]
            problems.append("%s%s: Prometheus %r, stats %r" % (k[0], dict(k[1]), got[k], w))
    if problems:
        print("\n".join(problems[:40]))
        sys.exit(1)
    print("%d series of cluster %s (job %s) equal the stats" % (len(want), s["cluster"], job))


main()
