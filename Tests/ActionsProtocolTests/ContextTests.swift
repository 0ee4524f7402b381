import Foundation
import Testing
@testable import ActionsProtocol

@Suite struct ContextTests {
    @Test func decodesWorkOSRegistrationFixtureAndIgnoresUnknownFields() throws {
        let body = #"""
        {"id":"01JATCMZJY26PQ59XT9BNT0FNN","object":"user_registration_action_context",
         "user_data":{"object":"user_data","email":"Todd@Example.com","first_name":"Todd","last_name":"Rundgren"},
         "invitation":{"object":"invitation","id":"inv_1","email":"todd@example.com","future":true},
         "ip_address":"50.141.123.10","user_agent":"Mozilla/5.0","device_fingerprint":"notafingerprint","new_field":[1,2]}
        """#
        let context = try ActionContext.decode(.userRegistration, from: Array(body.utf8))
        #expect(context.email == "Todd@Example.com")
        #expect(context.emailDomain == "example.com")
        #expect(context.ipAddress == "50.141.123.10")
        #expect(context.id == "01JATCMZJY26PQ59XT9BNT0FNN")
    }

    @Test func decodesAuthenticationFixture() throws {
        let body = #"""
        {"id":"01JATCNVYCHT1SZGENR4QTXKRK","object":"authentication_action_context",
         "user":{"object":"user","id":"user_01JATCHZVEC5EPANDPEZVM68Y9","email":"todd@example.com","first_name":"Todd",
                 "last_name":"Rundgren","email_verified":true,"profile_picture_url":null,"created_at":"2024-10-22T17:12:50.746Z"},
         "organization":{"object":"organization","id":"org_1","name":"Example"},
         "organization_membership":{"object":"organization_membership","id":"om_1","user_id":"user_01","organization_id":"org_1","role":{"slug":"member"},"status":"active"},
         "ip_address":"50.141.123.10","user_agent":"Mozilla/5.0","device_fingerprint":"fp","issuer":"test"}
        """#
        let context = try ActionContext.decode(.authentication, from: Array(body.utf8))
        #expect(context.userId == "user_01JATCHZVEC5EPANDPEZVM68Y9")
        #expect(context.type == .authentication)
    }

    /// Contexts are forwarded with JSONEncoder (their CodingKeys) and read with the JSON reader
    /// (member names in ContextFields): a fully populated round trip keeps the two in step.
    @Test func everyFieldSurvivesAnEncodeDecodeRoundTrip() throws {
        var registration = UserRegistrationContext(id: "act_1", userData: .init(email: "a@b.io", firstName: "Å", lastName: "B"),
                                                   ipAddress: "::1", userAgent: "UA", deviceFingerprint: "fp")
        registration.invitation = try JSONDecoder().decode(UserRegistrationContext.Invitation.self, from: Data(
            #"{"object":"invitation","id":"inv","email":"c@d.io","organization_id":"org","inviter_user_id":"u9"}"#.utf8))
        var authentication = AuthenticationContext(id: "act_2", user: .init(id: "u1", email: "e@f.io", firstName: "F", lastName: "L",
                                                                               emailVerified: false),
                                                   ipAddress: "10.0.0.1", userAgent: "UA\n", deviceFingerprint: "fp", issuer: "iss")
        authentication.organization = try JSONDecoder().decode(AuthenticationContext.Organization.self, from: Data(
            #"{"object":"organization","id":"org","name":"Org"}"#.utf8))
        authentication.organizationMembership = try JSONDecoder().decode(AuthenticationContext.OrganizationMembership.self, from: Data(
            #"{"object":"organization_membership","id":"om","user_id":"u1","organization_id":"org","status":"active"}"#.utf8))
        for context in [ActionContext.userRegistration(registration), .authentication(authentication)] {
            #expect(try ActionContext.decode(context.type, from: context.encoded()) == context)
        }
    }

    @Test func missingRequiredFieldIsNamed() {
        #expect(throws: ContextError.missingField("user_data.email")) {
            try ActionContext.decode(.userRegistration, from: Array(#"{"user_data":{"first_name":"x"}}"#.utf8))
        }
        #expect(throws: ContextError.missingField("user")) {
            try ActionContext.decode(.authentication, from: Array(#"{"id":"a"}"#.utf8))
        }
        #expect(throws: ContextError.wrongType("user_data.email")) {
            try ActionContext.decode(.userRegistration, from: Array(#"{"user_data":{"email":5}}"#.utf8))
        }
    }

    @Test func malformedJSONAndWrongObjectAreTyped() {
        #expect {
            try ActionContext.decode(.userRegistration, from: Array("{not json".utf8))
        } throws: { ($0 as? ContextError)?.code == "malformed_json" }
        #expect(throws: ContextError.wrongObject(expected: "authentication_action_context", got: "user_registration_action_context")) {
            try ActionContext.decode(.authentication, from: Array(#"{"object":"user_registration_action_context","user":{"email":"a@b"}}"#.utf8))
        }
    }
}

/// W3C Trace Context's traceparent, as the specification's test cases take and refuse it.
@Suite struct TraceParentTests {
    @Test func takesVersion00AndRefusesWhatTheSpecificationRefuses() {
        let good = TraceParent(header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(good?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && good?.spanID == "00f067aa0ba902b7" && good?.flags == "01")
        #expect(good?.header == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        for bad in ["", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "xx-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] {
            #expect(TraceParent(header: bad) == nil, "\(bad)")
        }
        // A later version: its first four fields are read, what follows is left.
        #expect(TraceParent(header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes")?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        let child = good!.child()
        #expect(child.traceID == good!.traceID && child.spanID != good!.spanID && child.spanID.count == 16 && child.flags == "01")
        #expect(TraceParent(header: child.header) == child)
    }
}
