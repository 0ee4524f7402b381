#!/usr/bin/env python3
"""Drives the official `workos` package's Actions helpers for the interop tests.

Subcommands (body on stdin where there is one):
  sign-request SECRET            -> prints a WorkOS-Signature header for the body, computed by the SDK's own HMAC helper
  verify-header SECRET HEADER    -> exit 0 if workos.actions verify_header accepts the body, 1 with the reason otherwise
  sign-response TYPE VERDICT SECRET [MESSAGE] -> prints the SDK's signed response as three bodies, one per line:
                                    compact json.dumps, Flask-style sorted keys with spaces, ensure_ascii=False
  verify-response SECRET         -> exit 0 if the signature matches the payload by the SDK algorithm
  post-signed URL SECRET CAFILE  -> signs the body with the SDK's helper, POSTs it over HTTPS trusting CAFILE,
                                    prints the HTTP status on the first line and the response body on the second
"""
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.request

from workos.actions import Actions, _compute_signature


def main(argv):
    command = argv[1]
    actions = Actions()
    if command == "sign-request":
        secret = argv[2]
        body = sys.stdin.buffer.read().decode("utf-8")
        timestamp = int(time.time() * 1000)
        signature = _compute_signature(f"{timestamp}.{body}", secret)
        print(f"t={timestamp}, v1={signature}")
        return 0
    if command == "verify-header":
        secret, header = argv[2], argv[3]
        body = sys.stdin.buffer.read()
        try:
            actions.verify_header(payload=body, sig_header=header, secret=secret)
        except ValueError as error:
            print(error.args[0])
            return 1
        return 0
    if command == "sign-response":
        action_type, verdict, secret = argv[2], argv[3], argv[4]
        message = argv[5] if len(argv) > 5 else None
        response = actions.sign_response(action_type=action_type, verdict=verdict, error_message=message, secret=secret)
        print(json.dumps(response, separators=(",", ":")))
        print(json.dumps(response, sort_keys=True))
        print(json.dumps(response, ensure_ascii=False))
        return 0
    if command == "verify-response":
        secret = argv[2]
        raw = sys.stdin.buffer.read().decode("utf-8")
        response = json.loads(raw)
        payload = response["payload"]
        # The exact payload text as sent, and the SDK-style re-serialization without ASCII escaping.
        match = re.search(r'"payload":(\{[^{}]*\})', raw)
        candidates = [json.dumps(payload, separators=(",", ":"), ensure_ascii=False)]
        if match:
            candidates.append(match.group(1))
        for text in candidates:
            if _compute_signature(f"{payload['timestamp']}.{text}", secret) != response["signature"]:
                print(f"signature mismatch over {text}")
                return 1
        return 0
    if command == "post-signed":
        url, secret, cafile = argv[2], argv[3], argv[4]
        body = sys.stdin.buffer.read()
        timestamp = int(time.time() * 1000)
        signature = _compute_signature(f"{timestamp}.{body.decode('utf-8')}", secret)
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "WorkOS-Signature": f"t={timestamp}, v1={signature}"})
        context = ssl.create_default_context(cafile=cafile)
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read()
        print(status)
        print(answer.decode("utf-8"))
        return 0
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
