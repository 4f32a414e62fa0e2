"""Real zcqrs node processes for the Python client's integration tests.

A :class:`Cluster` starts one write node and some query nodes of the build
in $ZCQ_BUILD (default: build) on ipc:// endpoints in a fresh temporary
folder, waits until each says "ready", and stops them for sure: on
:meth:`stop`, and, through PR_SET_PDEATHSIG, when the test process dies.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.abspath(os.environ.get("ZCQ_BUILD") or os.path.join(REPO, "build"))
READY_WAIT = 15.0  # seconds a node may take to say ready


def _die_with_parent():
    """In the child: get SIGKILL when the test process goes away."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Cluster:
    """A write node and ``query_nodes`` query nodes of one domain.

    ``commands``, ``events``, ``replay`` and ``queries`` (a list) are their
    endpoints; ``write_args`` and ``query_args`` are extra flags of the write
    node and of each query node.
    """

    def __init__(self, domain="bank", query_nodes=1, write_args=(), query_args=()):
        self.dir = tempfile.mkdtemp(prefix="zcq-py.")
        self.domain = domain
        self.commands = "ipc://%s/commands" % self.dir
        self.events = "ipc://%s/events" % self.dir
        self.replay = "ipc://%s/replay" % self.dir
        self.queries = ["ipc://%s/queries-%d" % (self.dir, n + 1) for n in range(query_nodes)]
        self.processes = {}  # name -> Popen
        self.commands_of = {}  # name -> (program, args), to restart it
        try:
            self._start("write", "zcqrs-write", "--commands", self.commands, "--events",
                        self.events, "--replay", self.replay, "--heartbeat", "100",
                        *write_args)
            for index, endpoint in enumerate(self.queries):
                self._start("query-%d" % (index + 1), "zcqrs-query", "--events", self.events,
                            "--replay", self.replay, "--queries", endpoint, *query_args)
            for name in self.processes:
                self._wait_ready(name)
        except BaseException:
            self.stop()
            raise

    def _start(self, name, program, *args):
        self.commands_of[name] = (program, args)
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        self.processes[name] = subprocess.Popen(
            [os.path.join(BUILD, program), "--data", os.path.join(self.dir, name),
             "--domain", self.domain] + list(args),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        log.close()

    def log(self, name):
        """What a node printed so far."""
        with open(os.path.join(self.dir, name + ".log"), errors="replace") as source:
            return source.read()

    def _wait_ready(self, name):
        deadline = time.monotonic() + READY_WAIT
        while time.monotonic() < deadline:
            if " ready " in self.log(name):
                return
            if self.processes[name].poll() is not None:
                raise RuntimeError("%s node exited at start:\n%s" % (name, self.log(name)))
            time.sleep(0.05)
        raise RuntimeError("%s node not ready in %.0f s:\n%s" % (name, READY_WAIT,
                                                                  self.log(name)))

    def restart(self, name):
        """Stop a node (TERM) and start it again on the same folder and flags;
        waits until it is ready again."""
        process = self.processes[name]
        process.terminate()
        process.wait(5)
        with open(os.path.join(self.dir, name + ".log"), "a") as log:
            log.write("--- restarted ---\n")
        self._start(name, *self.commands_of[name][:1], *self.commands_of[name][1])
        deadline = time.monotonic() + READY_WAIT
        while self.log(name).count(" ready ") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

    def pause(self, name):
        """Stop a node (SIGSTOP): it neither reads nor answers until resumed."""
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name):
        """Let a paused node go on (SIGCONT)."""
        self.processes[name].send_signal(signal.SIGCONT)

    def alive(self, name):
        return self.processes[name].poll() is None

    def stop(self):
        """Stop every node (TERM, then KILL after 5 s) and remove the folder."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
