#!/usr/bin/python3
"""Reads a subunit v2 stream (tempest run --subunit) on stdin and prints one JSON object per test:
{"id", "status", "reason"} where status is success, fail, skip (or another subunit status) and reason
is the skip reason or the failure's traceback, cut to its last lines."""
import json
import sys

import subunit
import testtools


def emit(test):
    if test["status"] == "exists":  # the listing of tests, before any runs
        return
    details = test.get("details", {})
    reason = ""
    if "reason" in details:
        reason = details["reason"].as_text()
    elif "traceback" in details:
        reason = "\n".join(details["traceback"].as_text().strip().splitlines()[-6:])
    print(json.dumps({"id": test["id"], "status": test["status"], "reason": reason}), flush=True)


stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
result = testtools.StreamToDict(emit)
result.startTestRun()
try:
    stream.run(result)
finally:
    result.stopTestRun()
