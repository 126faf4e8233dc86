#!/usr/bin/env python3
"""Sends one PagerDuty Events API v2 event with PagerDuty's official Python client.

    pagerduty_send.py BASE_URL ROUTING_KEY ACTION [options]

ACTION is trigger, acknowledge or resolve (POST BASE_URL/v2/enqueue) or change
(POST BASE_URL/v2/change/enqueue). Run it with the venv python that
.ci/signal-clients.sh exports as PAGERDUTY_PYTHON (PyPI `pagerduty`, pinned there).

On success it prints the response body, parsed as JSON, on one line of stdout and exits 0
(for alert events that body holds the dedup_key; a body that is not JSON is printed as a JSON
string, an empty one as null). On failure it prints the error, with the
HTTP status and body when there was an answer, to stderr and exits 1.

The client is `pagerduty.EventsApiV2Client` itself, driven through its own methods
(`trigger`, `acknowledge`, `resolve`, `send_change_event`), so the requests are byte for
byte what it sends to PagerDuty. Two things are adapted, in a subclass:
  - its `url` setter refuses any base URL that is not https://, so the subclass's `url`
    property accepts http://127.0.0.1:PORT;
  - its methods return only the dedup_key (or nothing, for change events), so the
    subclass's `postprocess` hook (called by the client on every response) keeps the
    last response to print its body.
The client's `submit()` cannot be used for change events without a timestamp (its
`event_timestamp` raises AttributeError in 7.2.0), so change events go through
`send_change_event` with a timestamp made here.

The client's own retries stay on by default (5xx: 2-6 more tries, 3 s then doubling; 429:
without limit; network errors: 3 more tries, 3+6+12 s). Tests that expect a refusal should
pass --no-retry, which fails at the first error answer (429: after one retry).
"""

import argparse
import datetime
import json
import sys

try:
    import pagerduty
except ImportError:
    sys.stderr.write(
        "pagerduty_send.py: cannot import pagerduty; run it with $PAGERDUTY_PYTHON "
        "(see .ci/signal-clients.sh)\n"
    )
    sys.exit(1)


class LocalEventsApiV2Client(pagerduty.EventsApiV2Client):
    """EventsApiV2Client that accepts an http:// base URL and keeps the last response."""

    last_response = None

    @property
    def url(self):
        return self._url

    @url.setter
    def url(self, new_base_url):
        self._url = new_base_url.rstrip("/")

    def postprocess(self, response):
        self.last_response = response
        super().postprocess(response)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="pagerduty_send.py",
        description="Send one PagerDuty Events API v2 event with the official client.",
    )
    p.add_argument("base_url", metavar="BASE_URL", help="e.g. http://127.0.0.1:8080")
    p.add_argument("routing_key", metavar="ROUTING_KEY")
    p.add_argument(
        "action", metavar="ACTION", choices=["trigger", "acknowledge", "resolve", "change"]
    )
    p.add_argument("--dedup-key", help="required for acknowledge and resolve")
    p.add_argument("--summary", help="default: 'Test event from pagerduty_send.py'")
    p.add_argument("--source", help="default: 'pagerduty_send.py'")
    p.add_argument(
        "--severity", default="critical", choices=["critical", "error", "warning", "info"]
    )
    p.add_argument("--component")
    p.add_argument("--group")
    p.add_argument("--class", dest="class_")
    p.add_argument("--timestamp", help="payload.timestamp (ISO 8601); change: default now")
    p.add_argument("--custom-details", help="payload.custom_details, a JSON object")
    p.add_argument(
        "--link", nargs=2, action="append", metavar=("HREF", "TEXT"), help="repeatable"
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument(
        "--no-retry",
        action="store_true",
        help="fail at the first error answer or network error instead of the client's "
        "retries (5xx a few times, 429 without limit)",
    )
    return p.parse_args(argv)


def fail(message, response=None):
    if response is not None:
        message = f"{message}\nHTTP {response.status_code}: {response.text}"
    sys.stderr.write(f"pagerduty_send.py: {message}\n")
    return 1


def main(argv):
    args = parse_args(argv)
    custom_details = None
    if args.custom_details is not None:
        try:
            custom_details = json.loads(args.custom_details)
        except ValueError as e:
            return fail(f"--custom-details is not JSON: {e}")
        if not isinstance(custom_details, dict):
            return fail("--custom-details must be a JSON object")
    links = [{"href": href, "text": text} for href, text in (args.link or [])]
    summary = args.summary if args.summary is not None else "Test event from pagerduty_send.py"
    source = args.source if args.source is not None else "pagerduty_send.py"

    client = LocalEventsApiV2Client(args.routing_key, base_url=args.base_url)
    client.timeout = args.timeout
    if args.no_retry:
        # retry[429] = 1 is the least the client allows: 0 means "retry 429 forever".
        client.retry = {429: 1}
        client.max_network_attempts = 0
        client.sleep_timer = 0.05

    try:
        if args.action == "trigger":
            extra = {}
            for key, value in (
                ("component", args.component),
                ("group", args.group),
                ("class", args.class_),
                ("timestamp", args.timestamp),
            ):
                if value is not None:
                    extra[key] = value
            client.trigger(
                summary,
                source,
                dedup_key=args.dedup_key,
                severity=args.severity,
                payload=extra or None,
                custom_details=custom_details,
                links=links or None,
            )
        elif args.action == "acknowledge":
            client.acknowledge(args.dedup_key)
        elif args.action == "resolve":
            client.resolve(args.dedup_key)
        else:
            timestamp = args.timestamp or datetime.datetime.now(
                datetime.timezone.utc
            ).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            payload = {"summary": summary, "source": source, "timestamp": timestamp}
            if custom_details is not None:
                payload["custom_details"] = custom_details
            client.send_change_event(payload=payload, links=links or None)
    except (ValueError, TypeError) as e:
        return fail(str(e))
    except pagerduty.Error as e:
        # e.response is None for network errors (no answer at all).
        return fail(f"{type(e).__name__}: {e}", e.response)

    response = client.last_response
    # A body that is not JSON is printed as a JSON string, an empty one as null.
    try:
        body = response.json() if response.text.strip() else None
    except ValueError:
        body = response.text
    sys.stdout.write(json.dumps(body) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
