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
