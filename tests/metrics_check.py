#!/usr/bin/python3
"""Scrape the Prometheus metrics of every node of a running cluster and
check that they keep Prometheus's format and naming rules and that the
counters move as commands and queries are sent.

usage: tests/metrics_check.py --dir CLUSTER_DIR [--dashboard FILE.json]

CLUSTER_DIR is a cluster that `deploy/cluster up` started (each node
serves its metrics; its status answer names the URL). The exposition is
parsed with Debian's python3-prometheus-client, and checked again here:
HELP and TYPE before every family, counters named *_total, histograms
cumulative with +Inf equal to _count, no series twice. It also starts one
more query node on an empty folder (catching up by replay, which the write
node counts), stopped by its PID at the end. Every wait is bounded. Exit 0
when every check passed. With --dashboard, every metric the Grafana
dashboard's queries name must be one the nodes serve.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from cluster_kit import Failed, cli, cluster_env

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(condition, what):
    if not condition:
        raise Failed(what)


class Cluster:
    def __init__(self, folder):
        self.env = cluster_env(folder)

    def cli(self, *words, ok=True):
        return cli(self.env, *words, ok=ok)

    def status(self, endpoint):
        return self.cli("query", "status", "--node", endpoint)["result"]


def scrape(url):
    """The text a scrape gets, with its Content-Type checked."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        check(answer.status == 200, f"{url}: HTTP {answer.status}")
        kind = answer.headers.get("Content-Type", "")
        check(kind.startswith("text/plain; version=0.0.4"), f"{url}: Content-Type {kind}")
        return answer.read().decode("utf-8")


def parse(url, text):
    """Families by name, after Prometheus's parser and the rules it leaves
    to the writer."""
    families = {}
    for family in text_string_to_metric_families(text):
        check(family.name not in families, f"{url}: family {family.name} twice")
        families[family.name] = family
    declared = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            check(NAME.match(name), f"{url}: bad metric name {name!r}")
            check(len(line.split(" ", 3)) == 4, f"{url}: HELP of {name} says nothing")
            declared[name] = "help"
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            check(declared.get(name) == "help", f"{url}: TYPE of {name} without HELP first")
            declared[name] = kind
            if kind == "counter":
                check(name.endswith("_total"), f"{url}: counter {name} does not end in _total")
            if name.endswith("_seconds") or name.endswith("_bytes"):
                check(kind in ("gauge", "histogram", "counter"), f"{url}: {name} is {kind}")
        elif line and not line.startswith("#"):
            sample = re.split(r"[{ ]", line, 1)[0]
            base = re.sub(r"_(bucket|sum|count)$", "", sample)
            check(sample in declared or base in declared,
                  f"{url}: sample {sample} with no TYPE before it")
    seen = set()
    for family in families.values():
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            check(key not in seen, f"{url}: series {key} twice")
            seen.add(key)
        if family.type == "histogram":
            buckets = [s for s in family.samples if s.name.endswith("_bucket")]
            check(buckets and buckets[-1].labels["le"] == "+Inf",
                  f"{url}: {family.name} has no +Inf bucket last")
            values = [s.value for s in buckets]
            check(values == sorted(values), f"{url}: {family.name} buckets not cumulative")
            bounds = [float(s.labels["le"]) for s in buckets]
            check(bounds == sorted(bounds), f"{url}: {family.name} bounds not ascending")
            count = [s.value for s in family.samples if s.name.endswith("_count")]
            check(count == [values[-1]], f"{url}: {family.name} +Inf {values[-1]} != {count}")
    return families


def value(families, name, **labels):
    """The value of the one sample called name with these labels."""
    family = families.get(re.sub(r"_(total|bucket|sum|count)$", "", name)) or families.get(name)
    check(family is not None, f"no family for {name}")
    for sample in family.samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    raise Failed(f"no sample {name} {labels}")


def expect_types(url, families, expected):
    for name, kind in expected.items():
        check(name in families, f"{url}: no metric {name}")
        check(families[name].type == kind, f"{url}: {name} is {families[name].type}, not {kind}")


WRITE = {"zcqrs_commands": "counter", "zcqrs_busy_replies": "counter",
         "zcqrs_write_failures": "counter", "zcqrs_events_published": "counter",
         "zcqrs_replays_served": "counter", "zcqrs_replayed_events": "counter",
         "zcqrs_head_position": "gauge", "zcqrs_group_size_commands": "histogram",
         "zcqrs_groups": "counter", "zcqrs_group_write_seconds": "histogram",
         "zcqrs_ack_latency_seconds": "histogram"}
QUERY = {"zcqrs_queries": "counter", "zcqrs_events_applied": "counter",
         "zcqrs_write_failures": "counter", "zcqrs_applied_position": "gauge",
         "zcqrs_head_position": "gauge", "zcqrs_lag_events": "gauge",
         "zcqrs_apply_rate_events_per_second": "gauge", "zcqrs_write_node_reachable": "gauge",
         "zcqrs_query_latency_seconds": "histogram"}
EVERY = {"zcqrs_uptime_seconds": "gauge", "zcqrs_build_info": "gauge",
         "process_cpu_seconds": "counter", "process_resident_memory_bytes": "gauge",
         "process_virtual_memory_bytes": "gauge", "process_start_time_seconds": "gauge",
         "process_open_fds": "gauge", "process_threads": "gauge"}


def version():
    with open(os.path.join(ROOT, "lib", "zcqrs.h")) as header:
        parts = dict(re.findall(r"#define ZCQRS_VERSION_(\w+) +(\d+)", header.read()))
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"


def wait_for(what, probe, seconds=15):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    raise Failed(f"{what}: not in {seconds} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--dashboard")
    args = parser.parse_args()
    cluster = Cluster(args.dir)
    env = cluster.env
    queries = env["queries"].split()
    nodes = [("write", env["commands"])] + [(f"query-{i + 1}", e) for i, e in enumerate(queries)]
    urls = {}
    for name, endpoint in nodes:
        url = cluster.status(endpoint)["metrics"]
        check(url.startswith("http://127.0.0.1:") and url.endswith("/metrics"),
              f"{name}: its status names no metrics URL: {url!r}")
        urls[name] = url

    def everything():
        return {name: parse(url, scrape(url)) for name, url in urls.items()}

    before = everything()
    for name, families in before.items():
        expect_types(urls[name], families, {**EVERY, **(WRITE if name == "write" else QUERY)})
        role = "write" if name == "write" else "query"
        check(value(families, "zcqrs_build_info", version=version(), role=role,
                    domain="bank") == 1, f"{name}: zcqrs_build_info")
        check(value(families, "process_resident_memory_bytes") > 1 << 20, f"{name}: RSS")
        start = value(families, "process_start_time_seconds")
        check(time.time() - 3600 < start <= time.time() + 1, f"{name}: start time {start}")
        check(value(families, "zcqrs_uptime_seconds") > 0, f"{name}: uptime")
    check(value(before["write"], "zcqrs_commands_total", outcome="accepted") == 0,
          "a fresh cluster has accepted commands")

    if args.dashboard:
        served = {sample.name for families in before.values() for family in families.values()
                  for sample in family.samples}
        with open(args.dashboard) as board:
            exprs = re.findall(r'"expr": "([^"]*)"', board.read())
        check(exprs, f"{args.dashboard} has no queries")
        for name in set(re.findall(r"\b((?:zcqrs|process)_[a-z_]+)", " ".join(exprs))):
            check(name in served, f"{args.dashboard} charts {name}, which no node serves")

    # Commands of every outcome, then queries of several statuses
    cluster.cli("send", "OpenAccount", "m-1", "owner=ann", "--expect", "0")
    cluster.cli("send", "Deposit", "m-1", "amount=70")
    cluster.cli("send", "Deposit", "m-1", "amount=30", "--id", "00" * 15 + "01")
    cluster.cli("send", "Deposit", "m-1", "amount=30", "--id", "00" * 15 + "01")  # duplicate
    cluster.cli("send", "Withdraw", "m-1", "amount=1000", ok=False)                # rejected
    cluster.cli("send", "Deposit", "m-1", "amount=1", "--expect", "1", ok=False)   # conflict
    cluster.cli("send", "Deposit", "m-1", "amount=-5", ok=False)                   # invalid
    head = 3
    for endpoint in queries:
        cluster.cli("query", "account", "id=m-1", "--node", endpoint, "--min-position", str(head))
        cluster.cli("query", "account", "id=nobody", "--node", endpoint, ok=False)
        cluster.cli("query", "no-such-query", "--node", endpoint, ok=False)

    def settled():
        now = everything()
        lags = [value(now[n], "zcqrs_lag_events") for n in urls if n != "write"]
        applied = [value(now[n], "zcqrs_applied_position") for n in urls if n != "write"]
        return now if lags == [0] * len(lags) and applied == [head] * len(applied) else None

    after = wait_for("every query node at the head, as its metrics say", settled)
    write, was = after["write"], before["write"]

    def moved(name, **labels):
        return value(write, name, **labels) - value(was, name, **labels)

    for outcome, count in (("accepted", 3), ("duplicate", 1), ("rejected", 1),
                           ("conflict", 1), ("invalid", 1)):
        check(moved("zcqrs_commands_total", outcome=outcome) == count,
              f"commands {outcome}: moved {moved('zcqrs_commands_total', outcome=outcome)}, "
              f"not {count}")
    check(value(write, "zcqrs_head_position") == head, "write node head")
    check(moved("zcqrs_events_published_total") == head, "events published")
    groups = moved("zcqrs_groups_total")
    check(1 <= groups <= 6, f"groups moved {groups}")
    check(moved("zcqrs_group_size_commands_count") == groups, "group size histogram count")
    check(moved("zcqrs_group_size_commands_sum") >= 5, "grouped commands (accepted, rejected, "
          "conflict, and the duplicate of one in flight or not)")
    check(moved("zcqrs_group_write_seconds_count") == groups, "group write histogram")
    acks = moved("zcqrs_ack_latency_seconds_count")
    check(acks >= 5, f"ack latency observations moved {acks}")
    check(0 < moved("zcqrs_ack_latency_seconds_sum") < acks * 5, "ack latency sum (seconds)")
    check(moved("zcqrs_busy_replies_total") == 0, "busy replies")
    for name in urls:
        if name == "write":
            continue
        node, old = after[name], before[name]

        def grew(metric, **labels):
            return value(node, metric, **labels) - value(old, metric, **labels)

        check(grew("zcqrs_events_applied_total") == head, f"{name}: events applied")
        check(grew("zcqrs_queries_total", status="ok") >= 1, f"{name}: ok queries")
        check(grew("zcqrs_queries_total", status="not_found") == 1, f"{name}: not_found")
        check(grew("zcqrs_queries_total", status="unknown") == 1, f"{name}: unknown")
        check(grew("zcqrs_query_latency_seconds_count") >= 3, f"{name}: query latency")
        check(value(node, "zcqrs_head_position") == head, f"{name}: head")
        check(value(node, "zcqrs_write_node_reachable") == 1, f"{name}: write node reachable")

    # A new query node on an empty folder catches up by replay: the write
    # node counts the replays it served and the events they carried
    data = tempfile.mkdtemp(prefix="zcq-metrics-late-")
    log = open(os.path.join(data, "query.log"), "w")
    late = subprocess.Popen([os.path.join(env["build"], "zcqrs-query"), "--events",
                             env["events"], "--replay", env["replay"], "--queries",
                             "tcp://127.0.0.1:*", "--data", os.path.join(data, "q"),
                             "--metrics", "127.0.0.1:0"], stdout=log, stderr=log)
    try:
        def late_url():
            with open(os.path.join(data, "query.log")) as text:
                found = re.search(r" ready .* metrics=(\S+)", text.read())
            return found.group(1) if found else None

        url = wait_for("the late query node's ready line", late_url)
        caught = wait_for("the late node at the head", lambda: (lambda f: f if value(
            f, "zcqrs_applied_position") == head else None)(parse(url, scrape(url))))
        check(value(caught, "zcqrs_events_applied_total") == head, "late node events applied")
        served = everything()["write"]
        check(value(served, "zcqrs_replays_served_total") >
              value(write, "zcqrs_replays_served_total"), "replays served did not move")
        check(value(served, "zcqrs_replayed_events_total") -
              value(write, "zcqrs_replayed_events_total") >= head, "replayed events")
    finally:
        late.terminate()
        try:
            late.wait(timeout=10)
        except subprocess.TimeoutExpired:
            late.kill()
            late.wait(timeout=5)
        log.close()
        shutil.rmtree(data, ignore_errors=True)
    print(f"metrics_check: {len(urls) + 1} nodes scraped; every format rule holds and every "
          "counter moved as it should")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as error:
        print(f"metrics_check: FAILED: {error}", file=sys.stderr)
        sys.exit(1)
