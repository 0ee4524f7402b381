#!/usr/bin/env python3
"""A customer Actions endpoint written with the official `workos` package, as its docs show.

Denies registrations from the domains in DENY_DOMAINS with a non-ASCII message, allows the rest.
Prints "listening on PORT" once ready. Usage: workos_endpoint.py SECRET [PORT]
With RECORD_FILE set, appends every body it verified, hex-encoded, one per line (tests compare
what arrived with what the identity service sent, byte for byte); with RECORD_TRACES set, the
traceparent header of each (or "-").
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from workos.actions import Actions

SECRET = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
DENY_DOMAINS = {"gmail.com", "outlook.com"}
actions = Actions()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            context = actions.construct_action(payload=body, sig_header=self.headers.get("WorkOS-Signature", ""), secret=SECRET)
        except ValueError as error:
            self.send_response(401)
            self.end_headers()
            self.wfile.write(str(error).encode())
            return
        if os.environ.get("RECORD_FILE"):
            with open(os.environ["RECORD_FILE"], "a") as record:
                record.write(body.hex() + "\n")
        if os.environ.get("RECORD_TRACES"):
            with open(os.environ["RECORD_TRACES"], "a") as record:
                record.write(self.headers.get("traceparent", "-") + "\n")
        if context["object"] == "user_registration_action_context":
            action_type, email = "user_registration", context["user_data"]["email"]
        else:
            action_type, email = "authentication", context["user"]["email"]
        domain = email.split("@")[1].lower()
        if domain in DENY_DOMAINS:
            response = actions.sign_response(action_type=action_type, verdict="Deny",
                                             error_message=f"Inscription refusée pour {domain} — utilisez l’adresse du travail",
                                             secret=SECRET)
        else:
            response = actions.sign_response(action_type=action_type, verdict="Allow", secret=SECRET)
        out = json.dumps(response).encode()  # as a Python web app sends it: spaces, ASCII escapes
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
