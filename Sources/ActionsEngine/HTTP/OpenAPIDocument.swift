/// The HTTP API as OpenAPI 3.1, served at `GET /openapi.json`. Kept beside the routes it describes;
/// `OpenAPITests` checks that every route and status the server answers is listed here, and
/// schemathesis (`scripts/schemathesis`) throws generated requests at a live server from it.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "actions-server",
    "version": "1.0.0",
    "description": "A self-hosted Actions engine for sign-up and login flows, WorkOS AuthKit Actions compatible. Every decision is logged."
  },
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "description": "Required on the engine API and /v1/events when ACTIONS_API_TOKEN is set."},
      "workosSignature": {"type": "apiKey", "in": "header", "name": "WorkOS-Signature", "description": "t=<ms>, v1=<hex HMAC-SHA256 of \"t.body\">"}
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
          "error": {"type": "string"},
          "message": {"type": "string"},
          "verdict": {"type": "string", "enum": ["Deny"]},
          "event_id": {"type": "string"}
        }
      },
      "UserRegistrationContext": {
        "type": "object",
        "required": ["user_data"],
        "properties": {
          "id": {"type": "string"},
          "object": {"type": "string", "enum": ["user_registration_action_context"]},
          "user_data": {
            "type": "object",
            "required": ["email"],
            "properties": {
              "object": {"type": "string"},
              "email": {"type": "string"},
              "first_name": {"type": ["string", "null"]},
              "last_name": {"type": ["string", "null"]}
            }
          },
          "invitation": {"type": ["object", "null"]},
          "ip_address": {"type": ["string", "null"]},
          "user_agent": {"type": ["string", "null"]},
          "device_fingerprint": {"type": ["string", "null"]}
        }
      },
      "AuthenticationContext": {
        "type": "object",
        "required": ["user"],
        "properties": {
          "id": {"type": "string"},
          "object": {"type": "string", "enum": ["authentication_action_context"]},
          "user": {
            "type": "object",
            "required": ["email"],
            "properties": {
              "object": {"type": "string"},
              "id": {"type": ["string", "null"]},
              "email": {"type": "string"},
              "first_name": {"type": ["string", "null"]},
              "last_name": {"type": ["string", "null"]},
              "email_verified": {"type": ["boolean", "null"]}
            }
          },
          "organization": {"type": ["object", "null"]},
          "organization_membership": {"type": ["object", "null"]},
          "authentication_method": {"type": ["string", "null"]},
          "ip_address": {"type": ["string", "null"]},
          "user_agent": {"type": ["string", "null"]},
          "device_fingerprint": {"type": ["string", "null"]},
          "issuer": {"type": ["string", "null"]}
        }
      },
      "Decision": {
        "type": "object",
        "required": ["verdict", "error_message", "decided_by", "outcome", "reason", "event_id", "action_id"],
        "properties": {
          "verdict": {"type": "string", "enum": ["Allow", "Deny"]},
          "error_message": {"type": ["string", "null"]},
          "decided_by": {"type": "string", "enum": ["policy", "endpoint", "error_mode", "circuit", "default", "invalid"]},
          "outcome": {"type": "string"},
          "reason": {"type": ["string", "null"]},
          "event_id": {"type": "string"},
          "action_id": {"type": "string"},
          "rule_id": {"type": ["integer", "null"], "description": "The rule that decided (a deny or allow entry, a rate rule)."},
          "shadow_rule_id": {"type": ["integer", "null"], "description": "A shadow rule that would have changed the verdict."},
          "trace": {
            "type": "array",
            "description": "Test decisions only: each check and what it found.",
            "items": {"type": "object", "required": ["check", "result"], "properties": {"check": {"type": "string"}, "result": {"type": "string"}}}
          }
        }
      },
      "SignedResponse": {
        "type": "object",
        "required": ["object", "payload", "signature"],
        "properties": {
          "object": {"type": "string", "enum": ["user_registration_action_response", "authentication_action_response"]},
          "payload": {
            "type": "object",
            "required": ["timestamp", "verdict"],
            "properties": {
              "timestamp": {"type": "integer"},
              "verdict": {"type": "string", "enum": ["Allow", "Deny"]},
              "error_message": {"type": "string"}
            }
          },
          "signature": {"type": "string"}
        }
      },
      "LoginEvent": {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
          "event": {"type": "string", "examples": ["authentication.password_failed", "authentication.succeeded"]},
          "data": {
            "type": "object",
            "properties": {
              "email": {"type": "string"},
              "user_id": {"type": "string"},
              "ip_address": {"type": "string"},
              "user": {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"}}}
            }
          }
        }
      },
      "LoginEventAnswer": {
        "type": "object",
        "required": ["status"],
        "properties": {
          "status": {"type": "string", "enum": ["counted", "locked", "reset", "still_locked", "ignored"]},
          "failures": {"type": "integer"},
          "locked_until_ms": {"type": "integer"}
        }
      },
      "Health": {
        "type": "object",
        "required": ["status", "problems", "events_queued", "events_dropped", "events_rejected", "config_version"],
        "properties": {
          "status": {"type": "string", "enum": ["ok", "degraded"]},
          "config_version": {"type": "integer", "description": "The settings version decisions use; it reaches the store's after a change."},
          "problems": {"type": "array", "items": {"type": "string"}},
          "events_queued": {"type": "integer"},
          "events_dropped": {"type": "integer"},
          "events_rejected": {"type": "integer", "description": "Events the database refused one by one; every other event of their batches was written."},
          "database_server": {"type": "string", "description": "The PostgreSQL server events go to now, host:port (a failover changes it); absent on SQLite."}
        }
      }
    },
    "responses": {
      "BadRequest": {"description": "Malformed JSON, a missing or mistyped field, invalid UTF-8, or an incomplete body; logged as an invalid attempt.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "Missing or wrong credentials.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "The body is larger than server.max_body_bytes.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "MethodNotAllowed": {"description": "The path exists but not with this method.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "The store cannot take the write now (not counted: retry), or no secret is configured.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "paths": {
    "/v1/actions/user_registration": {
      "post": {
        "summary": "Decide a sign-up",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserRegistrationContext"}}}},
        "responses": {
          "200": {"description": "The decision.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"}
        }
      }
    },
    "/v1/actions/authentication": {
      "post": {
        "summary": "Decide a login",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthenticationContext"}}}},
        "responses": {
          "200": {"description": "The decision.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"}
        }
      }
    },
    "/v1/actions/user_registration/test": {
      "post": {
        "summary": "A test sign-up (actionsctl test): decided as usual, answered with its trace, logged as a test and not counted by rate rules",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserRegistrationContext"}}}},
        "responses": {
          "200": {"description": "The decision and its trace.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"}
        }
      }
    },
    "/v1/actions/authentication/test": {
      "post": {
        "summary": "A test login (actionsctl test): decided as usual, answered with its trace, logged as a test and not counted by rate rules",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthenticationContext"}}}},
        "responses": {
          "200": {"description": "The decision and its trace.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"}
        }
      }
    },
    "/actions/user-registration": {
      "post": {
        "summary": "The WorkOS endpoint role for sign-ups: verify WorkOS's signature, decide by local policy, answer signed",
        "security": [{"workosSignature": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserRegistrationContext"}}}},
        "responses": {
          "200": {"description": "WorkOS's signed response.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SignedResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/actions/authentication": {
      "post": {
        "summary": "The WorkOS endpoint role for logins",
        "security": [{"workosSignature": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthenticationContext"}}}},
        "responses": {
          "200": {"description": "WorkOS's signed response.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SignedResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/v1/events": {
      "post": {
        "summary": "Report a failed or successful login, for the lockout",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LoginEvent"}}}},
        "responses": {
          "200": {"description": "Counted, locked, reset or still locked.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LoginEventAnswer"}}}},
          "202": {"description": "An event this server does not act on.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LoginEventAnswer"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/healthz": {
      "get": {
        "summary": "Health: ok, or degraded with the problems (still 200: decisions are still right)",
        "responses": {
          "200": {"description": "Health.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      },
      "head": {
        "summary": "Liveness",
        "responses": {"200": {"description": "Alive."}}
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics",
        "responses": {
          "200": {"description": "Prometheus text exposition.", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    },
    "/openapi.json": {
      "get": {
        "summary": "This document",
        "responses": {
          "200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    }
  }
}
"""#
}
