#!/usr/bin/env python3
"""Self-check for contrib/wazuh/custom-firebreak.

Runs the forwarder as a subprocess against a throwaway HTTP server on
127.0.0.1 and checks what it sends. Standard library only:

    python3 contrib/wazuh/test_forwarder.py        (add -v for details)
"""

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FORWARDER = os.path.join(HERE, "custom-firebreak")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "wazuh")
SECRET = "whsec-test-0123456789"
HOOK_PATH = "/hooks/generic/wazuh"


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.requests.append(
            {"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        code, answer = self.server.reply
        payload = json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


class ForwarderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        cls.server.requests = []
        cls.server.reply = (202, {"accepted": 1})
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d%s" % (cls.server.server_address[1], HOOK_PATH)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.server.requests.clear()
        self.server.reply = (202, {"accepted": 1})
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def run_forwarder(self, alert_path, *extra, url=None):
        argv = [sys.executable, FORWARDER, alert_path, SECRET, url or self.url, *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def fixture(self, name):
        return os.path.join(FIXTURES, name)

    def write_json(self, name, value):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(value, handle)
        return path

    def sent_body(self):
        self.assertEqual(len(self.server.requests), 1, "expected exactly one request")
        request = self.server.requests[0]
        self.assertEqual(request["method"], "POST")
        self.assertEqual(request["path"], HOOK_PATH)
        self.assertEqual(request["headers"].get("Authorization"), "Bearer " + SECRET)
        self.assertEqual(request["headers"].get("Content-Type"), "application/json")
        return json.loads(request["body"].decode("utf-8"))

    def test_executable_with_env_python3_shebang(self):
        self.assertTrue(os.access(FORWARDER, os.X_OK), "custom-firebreak must be executable")
        with open(FORWARDER, encoding="utf-8") as handle:
            self.assertEqual(handle.readline().rstrip("\n"), "#!/usr/bin/env python3")

    def test_sshd_bruteforce_alert(self):
        result = self.run_forwarder(self.fixture("alert.json"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            self.sent_body(),
            {
                "title": "sshd: brute force trying to get access to the system. Non existent user.",
                "status": "firing",
                "dedup_key": "wazuh:003:5712",
                "service": "web-01",
                "description": "Jan 12 10:15:29 web-01 sshd[24711]: Invalid user admin from 203.0.113.45 port 50522",
                "starts_at": "2026-01-12T10:15:30.123+00:00",
                "labels": {
                    "source": "wazuh",
                    "rule_level": "10",
                    "rule_id": "5712",
                    "agent_id": "003",
                    "agent_name": "web-01",
                    "manager": "wazuh-manager-01",
                    "decoder": "sshd",
                    "location": "/var/log/auth.log",
                    "groups": "syslog,sshd,authentication_failures",
                    "mitre_ids": "T1110",
                },
            },
        )

    def test_fim_alert_keys_on_path(self):
        result = self.run_forwarder(self.fixture("alert-fim.json"))
        self.assertEqual(result.returncode, 0, result.stderr)
        body = self.sent_body()
        with open(self.fixture("alert-fim.json"), encoding="utf-8") as handle:
            full_log = json.load(handle)["full_log"]
        self.assertEqual(body["dedup_key"], "wazuh:005:550:/etc/passwd")
        self.assertEqual(body["title"], "Integrity checksum changed.")
        self.assertEqual(body["status"], "firing")
        self.assertEqual(body["service"], "db-01")
        self.assertEqual(body["description"], full_log)
        self.assertEqual(body["starts_at"], "2026-01-12T10:20:11.482+00:00")
        self.assertNotIn("severity", body)
        self.assertEqual(
            body["labels"],
            {
                "source": "wazuh",
                "rule_level": "7",
                "rule_id": "550",
                "agent_id": "005",
                "agent_name": "db-01",
                "manager": "wazuh-manager-01",
                "decoder": "syscheck_integrity_changed",
                "location": "syscheck",
                "groups": "ossec,syscheck,syscheck_entry_modified,syscheck_file",
                "mitre_ids": "T1565.001",
            },
        )

    def test_wazuh_4_8_argv_with_options_timeout_retries(self):
        # integratord >= 4.8: alert key url debug|"" options|"" timeout retries
        options = os.path.join(self.tmp.name, "custom-firebreak-1768212930-12345.options")
        with open(options, "w", encoding="utf-8") as handle:
            handle.write('{"cluster": "prod-eu", "team": "secops", "tier": 1}\n')
        result = self.run_forwarder(self.fixture("alert.json"), "", options, "10", "3", "> /dev/null 2>&1")
        self.assertEqual(result.returncode, 0, result.stderr)
        labels = self.sent_body()["labels"]
        self.assertEqual(labels["cluster"], "prod-eu")
        self.assertEqual(labels["team"], "secops")
        self.assertEqual(labels["tier"], "1")
        self.assertEqual(labels["rule_level"], "10")

    def test_debug_logs_body_not_secret(self):
        result = self.run_forwarder(self.fixture("alert.json"), "debug", "", "10", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        body = self.sent_body()
        self.assertIn(json.dumps(body, ensure_ascii=False, separators=(",", ":")), result.stderr)
        self.assertNotIn(SECRET, result.stderr)

    def test_non_2xx_exits_1_with_status_and_body(self):
        self.server.reply = (401, {"error": "bad source secret"})
        result = self.run_forwarder(self.fixture("alert.json"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("401", result.stderr)
        self.assertIn("bad source secret", result.stderr)

    def test_server_error_exits_1(self):
        self.server.reply = (503, {"error": "overloaded"})
        result = self.run_forwarder(self.fixture("alert-fim.json"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("503", result.stderr)

    def test_unreachable_exits_1(self):
        with socket_closed_port() as port:
            url = "http://127.0.0.1:%d%s" % (port, HOOK_PATH)
            result = self.run_forwarder(self.fixture("alert.json"), url=url)
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot reach", result.stderr)

    def test_loop_guard_skips_firebreak_group(self):
        with open(self.fixture("alert.json"), encoding="utf-8") as handle:
            alert = json.load(handle)
        alert["rule"]["groups"].append("firebreak")
        result = self.run_forwarder(self.write_json("loop.alert", alert))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.server.requests, [])
        self.assertIn("loop guard", result.stderr)

    def test_long_fields_are_cut(self):
        with open(self.fixture("alert-fim.json"), encoding="utf-8") as handle:
            alert = json.load(handle)
        alert["rule"]["description"] = "é" * 300
        alert["full_log"] = "x" * 5000
        alert["syscheck"]["path"] = "/srv/" + "d/" * 200 + "file"
        result = self.run_forwarder(self.write_json("long.alert", alert))
        self.assertEqual(result.returncode, 0, result.stderr)
        body = self.sent_body()
        self.assertEqual(body["title"], "é" * 200)
        self.assertEqual(len(body["description"]), 4000)
        self.assertLessEqual(len(body["dedup_key"]), 255)
        self.assertTrue(body["dedup_key"].startswith("wazuh:005:550:/srv/d/"))

    def test_bad_timestamp_drops_starts_at(self):
        with open(self.fixture("alert.json"), encoding="utf-8") as handle:
            alert = json.load(handle)
        alert["timestamp"] = "year-month-dayThours:minuts:seconds+0000"
        result = self.run_forwarder(self.write_json("ts.alert", alert))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("starts_at", self.sent_body())

    def test_missing_api_key_exits_2(self):
        argv = [sys.executable, FORWARDER, self.fixture("alert.json"), "", self.url]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(self.server.requests, [])


class socket_closed_port:
    """A loopback port that nothing listens on (bound, then released)."""

    def __enter__(self):
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    unittest.main()
