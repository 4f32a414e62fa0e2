#!/usr/bin/python3
"""make run's launcher (deploy/run-local.sh), tried as a user at a terminal does.

usage: tests/launcher_check.py BUILD_DIR

1. A port of the cluster that something listens on: the launcher names the
   port and the process, and stops (exit 1) instead of moving elsewhere.
2. A port that only holds a TIME_WAIT (left by a connection closed just
   before) is not taken: the launcher binds the ports it was asked for.
3. A node that crashes is started again, with a line in the output.
   The banner's examples carry every endpoint when the ports are not the
   defaults.
4. Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends
   it) stops every node and the launcher exits 0, saying what it stopped.

Every wait is bounded; everything started here is stopped by PID.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")


def fail(message):
    print("launcher_check: FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def offsets():
    """Ports of a cluster of 2 query nodes with a console, from its base."""
    return [0, 1, 2, 10, 11, 3999, 4000, 4010, 4011]


def port_free(port):
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def pick_base():
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(200):
        base = rng.randrange(20000, 27000)
        if all(port_free(base + k) for k in offsets()):
            return base
    fail("found no free set of ports")


class Launcher:
    """deploy/run-local.sh in a session of its own, SIGINT at its default
    (a job started by a non-interactive shell would inherit it ignored)."""

    def __init__(self, data, base):
        env = dict(os.environ, ZCQRS_DATA=data, ZCQRS_BUILD=BUILD,
                   ZCQRS_PORT_BASE=str(base))
        self.out_path = os.path.join(os.path.dirname(data), "launcher.out")
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(TOP, "deploy", "run-local.sh")], cwd=TOP, env=env,
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def text(self):
        with open(self.out_path) as f:
            return f.read()

    def wait_for(self, needle, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if needle in self.text():
                return True
            if self.proc.poll() is not None:
                return needle in self.text()
            time.sleep(0.1)
        return False

    def wait_exit(self, seconds):
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            if self.wait_exit(30) is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.out.close()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def ours(pid, scratch):
    """True if the process's command line names our scratch folder."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return scratch.encode() in f.read()
    except OSError:
        return False


def node_pids(data):
    pids = {}
    for name in ("write", "query-1", "query-2", "console"):
        try:
            with open(os.path.join(data, "run", name + ".pid")) as f:
                pids[name] = int(f.read().strip())
        except (OSError, ValueError):
            pass
    return pids


def time_wait_on(port):
    """Leave a TIME_WAIT whose local port is `port`: the listening side
    closes first, as a server does, then the listener goes away."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    server_side, _ = listener.accept()
    server_side.close()
    client.recv(1)
    client.close()
    listener.close()
    hexport = ":%04X" % port
    with open("/proc/net/tcp") as f:
        return any(line.split()[1].endswith(hexport) and line.split()[3] == "06"
                   for line in f.readlines()[1:])


def main():
    scratch = tempfile.mkdtemp(prefix="zcq-launcher-")
    data = os.path.join(scratch, "var")
    started = []
    try:
        # 1. A port that something listens on
        base = pick_base()
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", base + 1))
        squatter.listen(1)
        launcher = Launcher(data, base)
        started.append(launcher)
        code = launcher.wait_exit(60)
        squatter.close()
        text = launcher.text()
        if code != 1:
            fail("with port %d taken the launcher exited %r, not 1:\n%s" % (base + 1, code, text))
        if ("port %d is taken: pid %d" % (base + 1, os.getpid())) not in text:
            fail("the launcher did not name port %d and its listener (pid %d):\n%s"
                 % (base + 1, os.getpid(), text))
        if "PORT_BASE" not in text:
            fail("the launcher did not say how to choose other ports:\n%s" % text)
        if any(alive(pid) for pid in node_pids(data).values()):
            fail("a node runs after the launcher gave up")
        print("launcher_check: a taken port is named with its listener, and nothing starts")

        # 2. Only a TIME_WAIT on the first port: not taken
        base = pick_base()
        had_time_wait = time_wait_on(base)
        launcher = Launcher(data, base)
        started.append(launcher)
        if not launcher.wait_for("zcqrs local cluster is up", 90):
            fail("the cluster did not come up:\n" + launcher.text())
        if ("tcp://127.0.0.1:%d" % base) not in launcher.text():
            fail("the launcher did not bind port %d%s:\n%s"
                 % (base, " (a TIME_WAIT was on it)" if had_time_wait else "", launcher.text()))
        tail = [line for line in launcher.text().splitlines() if " tail --from" in line]
        if not tail or ("--replay tcp://127.0.0.1:%d" % (base + 2)) not in tail[0] \
                or ("--events tcp://127.0.0.1:%d" % (base + 1)) not in tail[0]:
            fail("the banner's tail example lacks this cluster's endpoints: %r" % tail)
        print("launcher_check: the documented ports are bound%s"
              % (" although a TIME_WAIT was on the first" if had_time_wait else ""))

        # 3. A crashed node is started again
        pids = node_pids(data)
        os.kill(pids["query-1"], signal.SIGKILL)
        if not launcher.wait_for("restarted the query-1", 60):
            fail("the crashed query-1 was not restarted:\n" + launcher.text())
        pids_after = node_pids(data)
        if not alive(pids_after["query-1"]) or pids_after["query-1"] == pids["query-1"]:
            fail("query-1 does not run again after the restart line")
        status = subprocess.run(
            [os.path.join(BUILD, "zcqrs"), "query", "status", "--node",
             "tcp://127.0.0.1:%d" % (base + 10), "--timeout", "5000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if status.returncode != 0:
            fail("the restarted query-1 does not answer: " + status.stdout)
        print("launcher_check: a crashed node was started again and answers")

        # 4. Ctrl-C: SIGINT to the launcher's whole process group
        os.killpg(launcher.proc.pid, signal.SIGINT)
        code = launcher.wait_exit(60)
        text = launcher.text()
        if code != 0:
            fail("after Ctrl-C the launcher exited %r, not 0:\n%s" % (code, text))
        if "stopping the nodes: console" not in text or "stopped; the data stays" not in text:
            fail("the launcher did not say what it stopped:\n" + text)
        if "stopped; end of" in text.split("restarted the query-1")[-1]:
            fail("after Ctrl-C the launcher reported a node as crashed:\n" + text)
        left = [name for name, pid in pids_after.items() if alive(pid)]
        if left:
            fail("still running after Ctrl-C: " + ", ".join(left))
        print("launcher_check: Ctrl-C stopped every node in order and the launcher exited 0")
    finally:
        for launcher in started:
            launcher.stop()
        for pid in node_pids(data).values():
            if alive(pid) and ours(pid, scratch):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
