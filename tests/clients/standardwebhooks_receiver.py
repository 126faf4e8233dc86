"""A webhook receiver that checks every request with the Standard Webhooks reference library.

Run with the venv's Python that .ci/signal-clients.sh prepares (PyPI `standardwebhooks`):

    python standardwebhooks_receiver.py PORT

The secret it accepts is read from $RECEIVER_SECRET (`whsec_...`). It prints one JSON line per
request to stdout: {"verified": bool, "id", "timestamp", "type", "error"}, then answers 204 for
a verified request and 401 otherwise. The first line printed is {"listening": PORT}.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    sys.exit("standardwebhooks_receiver.py: cannot import standardwebhooks; run .ci/signal-clients.sh")

WEBHOOK = Webhook(os.environ["RECEIVER_SECRET"])


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items()}
        line = {
            "id": headers.get("webhook-id") or headers.get("Webhook-Id"),
            "timestamp": headers.get("webhook-timestamp") or headers.get("Webhook-Timestamp"),
            "signature": headers.get("webhook-signature") or headers.get("Webhook-Signature"),
        }
        try:
            payload = WEBHOOK.verify(body, headers)
            line.update(verified=True, type=payload.get("type"), payload=payload)
            status = 204
        except WebhookVerificationError as err:
            line.update(verified=False, error=str(err))
            status = 401
        print(json.dumps(line), flush=True)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1])
    server = HTTPServer(("127.0.0.1", port), Handler)
    print(json.dumps({"listening": port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
