#!/usr/bin/env python3
"""One kept-alive HTTPS connection, for the certificate-reload test.

Usage: tls_keepalive.py HOST PORT
GETs /healthz, prints "first <status> <local port>", waits for a line on stdin, GETs /healthz
again on the same connection and prints "second <status> <local port>". Verification is off:
the test checks the connection survives a reload, and reads the served certificate separately.
"""
import http.client
import ssl
import sys

host, port = sys.argv[1], int(sys.argv[2])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
connection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
for label in ("first", "second"):
    if label == "second":
        sys.stdin.readline()
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    print(label, response.status, connection.sock.getsockname()[1], flush=True)
