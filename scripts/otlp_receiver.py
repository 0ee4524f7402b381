#!/usr/bin/env python3
"""A minimal OTLP/HTTP trace receiver, for the tests: decodes what an exporter posts to
/v1/traces with OpenTelemetry's own protobuf definitions (the `opentelemetry-proto` package) or
as OTLP JSON, and appends one JSON line per span to SPANS_FILE: its trace and span ids in hex,
parent, name, kind, status, attributes and the resource's service.name.
Prints "listening on PORT" once ready. Usage: SPANS_FILE=spans.jsonl otlp_receiver.py [PORT]
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse)

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 0
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        request = ExportTraceServiceRequest()
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        if content_type.startswith("application/json"):
            json_format.Parse(body, request)
        else:
            request.ParseFromString(body)
        lines = []
        for resource_spans in request.resource_spans:
            resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "service": resource.get("service.name"),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": KINDS.get(span.kind, str(span.kind)),
                        "status": {0: "unset", 1: "ok", 2: "error"}.get(span.status.code),
                        "attributes": {a.key: value(a.value) for a in span.attributes},
                        "content_type": content_type,
                    }))
        with open(os.environ["SPANS_FILE"], "a") as spans:
            spans.write("".join(line + "\n" for line in lines))
        if content_type.startswith("application/json"):
            out, out_type = b"{}", "application/json"
        else:
            out, out_type = ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
        self.send_response(200)
        self.send_header("Content-Type", out_type)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
