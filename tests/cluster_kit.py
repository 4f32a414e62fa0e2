"""What the Python test drivers share about a cluster that deploy/cluster
started: its endpoints (DIR/cluster.env) and the CLI against it."""

import json
import os
import subprocess


class Failed(Exception):
    """A check failed; the message says what a person would have seen."""


def cluster_env(folder):
    """The assignments of DIR/cluster.env, as a dict."""
    values = {}
    with open(os.path.join(folder, "cluster.env")) as env:
        for line in env:
            if "=" in line and not line.startswith("#"):
                key, value = line.strip().split("=", 1)
                values[key] = value.strip("'")
    return values


def cli(env, *words, ok=True):
    """Run the CLI (bounded) against the cluster; return its last JSON line,
    or None. A refusal fails unless ok is False."""
    done = subprocess.run([os.path.join(env["build"], "zcqrs"), "--commands", env["commands"],
                           *words], capture_output=True, text=True, timeout=20)
    if ok and done.returncode != 0:
        raise Failed(f"zcqrs {' '.join(words)}: {done.stderr.strip()}")
    return json.loads(done.stdout.splitlines()[-1]) if done.stdout else None
