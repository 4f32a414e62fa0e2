"""The package's face: its version, one exception class per failure status,
command ids as hex (bytes still taken), and what pip installs."""

import os
import re
import subprocess
import sys
import tempfile
import unittest
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(HERE)
TOP = os.path.dirname(os.path.dirname(PACKAGE))
sys.path.insert(0, PACKAGE)

import zcqrs  # noqa: E402
from zcqrs import errors, protocol  # noqa: E402


class TestApi(unittest.TestCase):
    def test_version_is_the_c_library_version(self):
        with open(os.path.join(TOP, "lib", "zcqrs.h")) as header:
            text = header.read()
        parts = [re.search(r"#define ZCQRS_VERSION_%s +(\d+)" % part, text).group(1)
                 for part in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(zcqrs.__version__, ".".join(parts))

    def test_one_exception_class_per_failure_status(self):
        failures = [status for status in protocol.STATUSES if status not in ("ok", "accepted")]
        classes = set()
        for status in failures:
            error = errors.error_for({"status": status, "reason": "why"})
            self.assertIsNot(type(error), errors.RequestFailed, status)
            self.assertIsInstance(error, errors.RequestFailed)
            self.assertEqual((error.status, error.reason), (status, "why"))
            self.assertIn(type(error).__name__, zcqrs.__all__)
            classes.add(type(error))
        self.assertEqual(len(classes), len(failures))
        self.assertIs(type(errors.error_for({"status": "forbidden", "reason": ""})),
                      zcqrs.Forbidden)

    def test_command_ids_in_hex_or_bytes(self):
        hex_id = "00112233445566778899aabbccddeeff"
        command = zcqrs.Client.command("Deposit", "acc-1", {"amount": 5}, id=hex_id)
        self.assertEqual(command["id"], bytes.fromhex(hex_id))
        self.assertEqual(command.id_hex, hex_id)
        same = zcqrs.Client.command("Deposit", "acc-1", {"amount": 5},
                                    id=bytes.fromhex(hex_id))
        self.assertEqual(same.id_hex, hex_id)
        self.assertEqual(len(zcqrs.Client.command("Deposit", "acc-1").id_hex), 32)
        for wrong in ("xyz", "0011", hex_id + "00"):
            with self.assertRaises(ValueError):
                zcqrs.Client.command("Deposit", "acc-1", id=wrong)

    def test_pip_installs_it(self):
        """pip install ./clients/python (offline: the build backend is the
        system's setuptools), then the installed copy imports by itself."""
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "src")
            shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__"))
            target = os.path.join(tmp, "site")
            run = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation",
                 "--no-deps", "--no-index", "--target", target, source],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
            self.assertEqual(run.returncode, 0, run.stdout)
            self.assertTrue(os.path.exists(os.path.join(target, "zcqrs", "py.typed")))
            check = subprocess.run(
                [sys.executable, "-c", "import zcqrs, sys; sys.stdout.write(zcqrs.__file__ + "
                 "' ' + zcqrs.__version__)"],
                cwd=tmp, env=dict(os.environ, PYTHONPATH=target), stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout)
            where, version = check.stdout.split()
            self.assertTrue(where.startswith(target), where)
            self.assertEqual(version, zcqrs.__version__)


if __name__ == "__main__":
    unittest.main()
