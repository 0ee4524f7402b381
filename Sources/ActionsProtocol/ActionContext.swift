import Foundation

/// `user_registration_action_context`, as WorkOS sends it. Unknown fields are ignored.
package struct UserRegistrationContext: Codable, Sendable, Equatable {
    package struct UserData: Codable, Sendable, Equatable {
        package var object: String?
        package var email: String
        package var firstName: String?
        package var lastName: String?

        enum CodingKeys: String, CodingKey {
            case object, email
            case firstName = "first_name"
            case lastName = "last_name"
        }

        package init(email: String, firstName: String? = nil, lastName: String? = nil) {
            self.object = "user_data"
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
        }
    }

    package struct Invitation: Codable, Sendable, Equatable {
        package var object: String?
        package var id: String?
        package var email: String?
        package var organizationId: String?
        package var inviterUserId: String?

        enum CodingKeys: String, CodingKey {
            case object, id, email
            case organizationId = "organization_id"
            case inviterUserId = "inviter_user_id"
        }
    }

    package var id: String?
    package var object: String?
    package var userData: UserData
    package var invitation: Invitation?
    package var ipAddress: String?
    package var userAgent: String?
    package var deviceFingerprint: String?

    enum CodingKeys: String, CodingKey {
        case id, object, invitation
        case userData = "user_data"
        case ipAddress = "ip_address"
        case userAgent = "user_agent"
        case deviceFingerprint = "device_fingerprint"
    }

    package init(id: String? = nil, userData: UserData, ipAddress: String? = nil, userAgent: String? = nil,
                deviceFingerprint: String? = nil) {
        self.id = id
        self.object = ActionType.userRegistration.contextObject
        self.userData = userData
        self.ipAddress = ipAddress
        self.userAgent = userAgent
        self.deviceFingerprint = deviceFingerprint
    }
}

/// `authentication_action_context`, as WorkOS sends it. Unknown fields are ignored.
package struct AuthenticationContext: Codable, Sendable, Equatable {
    package struct User: Codable, Sendable, Equatable {
        package var object: String?
        package var id: String?
        package var email: String
        package var firstName: String?
        package var lastName: String?
        package var emailVerified: Bool?

        enum CodingKeys: String, CodingKey {
            case object, id, email
            case firstName = "first_name"
            case lastName = "last_name"
            case emailVerified = "email_verified"
        }

        package init(id: String? = nil, email: String, firstName: String? = nil, lastName: String? = nil,
                    emailVerified: Bool? = nil) {
            self.object = "user"
            self.id = id
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
            self.emailVerified = emailVerified
        }
    }

    package struct Organization: Codable, Sendable, Equatable {
        package var object: String?
        package var id: String?
        package var name: String?
    }

    package struct OrganizationMembership: Codable, Sendable, Equatable {
        package var object: String?
        package var id: String?
        package var userId: String?
        package var organizationId: String?
        package var status: String?

        enum CodingKeys: String, CodingKey {
            case object, id, status
            case userId = "user_id"
            case organizationId = "organization_id"
        }
    }

    package var id: String?
    package var object: String?
    package var user: User
    package var organization: Organization?
    package var organizationMembership: OrganizationMembership?
    package var ipAddress: String?
    package var userAgent: String?
    package var deviceFingerprint: String?
    package var issuer: String?
    /// `Password`, `GoogleOAuth`, `MagicAuth`, ... (workos-rust models it; the others pass it through).
    package var authenticationMethod: String?

    enum CodingKeys: String, CodingKey {
        case id, object, user, organization, issuer
        case authenticationMethod = "authentication_method"
        case organizationMembership = "organization_membership"
        case ipAddress = "ip_address"
        case userAgent = "user_agent"
        case deviceFingerprint = "device_fingerprint"
    }

    package init(id: String? = nil, user: User, ipAddress: String? = nil, userAgent: String? = nil,
                deviceFingerprint: String? = nil, issuer: String? = nil) {
        self.id = id
        self.object = ActionType.authentication.contextObject
        self.user = user
        self.ipAddress = ipAddress
        self.userAgent = userAgent
        self.deviceFingerprint = deviceFingerprint
        self.issuer = issuer
    }
}

/// Why a context could not be decoded. Names the field so the caller can fix its request.
package enum ContextError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedJSON(String)
    case missingField(String)
    case wrongType(String)
    case wrongObject(expected: String, got: String)
    /// A field that is there but is not what it names: an email or domain past its size or
    /// refused by UTS #46, an `ip_address` that is not an IP address.
    case invalidField(String, reason: String)

    package var description: String {
        switch self {
        case .malformedJSON(let why): return "body is not valid JSON: \(why)"
        case .missingField(let path): return "missing required field \(path)"
        case .wrongType(let path): return "field \(path) has the wrong type"
        case .wrongObject(let expected, let got): return "object is \(got), expected \(expected)"
        case .invalidField(let path, let reason): return "field \(path) is invalid: \(reason)"
        }
    }

    package var code: String {
        switch self {
        case .malformedJSON: return "malformed_json"
        case .missingField: return "missing_field"
        case .wrongType: return "wrong_type"
        case .wrongObject: return "wrong_object"
        case .invalidField: return "invalid_field"
        }
    }
}

/// Either kind of context, with the fields policy needs in one place.
package enum ActionContext: Sendable, Equatable {
    case userRegistration(UserRegistrationContext)
    case authentication(AuthenticationContext)

    package var type: ActionType {
        switch self {
        case .userRegistration: return .userRegistration
        case .authentication: return .authentication
        }
    }

    package var id: String? {
        switch self {
        case .userRegistration(let c): return c.id
        case .authentication(let c): return c.id
        }
    }

    package var email: String {
        switch self {
        case .userRegistration(let c): return c.userData.email
        case .authentication(let c): return c.user.email
        }
    }

    package var userId: String? {
        if case .authentication(let c) = self { return c.user.id }
        return nil
    }

    package var ipAddress: String? {
        switch self {
        case .userRegistration(let c): return c.ipAddress
        case .authentication(let c): return c.ipAddress
        }
    }

    package var userAgent: String? {
        switch self {
        case .userRegistration(let c): return c.userAgent
        case .authentication(let c): return c.userAgent
        }
    }

    /// The domain part of the email, normalized (`Normalize.domain`); empty when there is no `@`.
    package var emailDomain: String { Normalize.emailDomain(email) }

    /// Decodes a body of the given type. The `object` member, when present, must match.
    /// Unknown members are ignored, as WorkOS adds fields over time.
    package static func decode(_ type: ActionType, from body: [UInt8]) throws(ContextError) -> ActionContext {
        try decodeChecked(type, from: body).context
    }

    /// The same, with the email as `checkIdentity` normalized it: a decision judges that spelling,
    /// and normalizing the address a second time cost about 2,500 instructions a decision.
    package static func decodeChecked(_ type: ActionType, from body: [UInt8]) throws(ContextError) -> CheckedContext {
        let root: ContextFields
        do {
            root = ContextFields(object: try JSON.object(body), path: "")
        } catch {
            throw .malformedJSON(error.description)
        }
        let object = try root.string("object")
        if let object, object != type.contextObject {
            throw .wrongObject(expected: type.contextObject, got: object)
        }
        let context: ActionContext
        switch type {
        case .userRegistration: context = .userRegistration(try UserRegistrationContext(root))
        case .authentication: context = .authentication(try AuthenticationContext(root))
        }
        return CheckedContext(context: context, identity: try context.checkIdentity())
    }

    /// What policy judges must be an identity it can judge, before anything else is done with it:
    /// the email within RFC 5321's sizes with a domain UTS #46 accepts (a refused domain would
    /// match no entry and be allowed), and an `ip_address`, when one is given, an IP address (or
    /// every IP rule would be skipped). A missing, null or empty `ip_address` means none is known.
    /// Returns the email normalized (what `Normalize.emailAndDomain` gives for it).
    func checkIdentity() throws(ContextError) -> Normalize.EmailAndDomain {
        let identity: Normalize.EmailAndDomain
        do {
            identity = try Normalize.checkedEmailAndDomain(email)
        } catch {
            throw .invalidField(type == .userRegistration ? "user_data.email" : "user.email", reason: error.description)
        }
        if let ip = ipAddress, !ip.isEmpty, !IPText.isAddress(ip) {
            throw .invalidField("ip_address", reason: "not an IPv4 or IPv6 address")
        }
        return identity
    }

    package var deviceFingerprint: String? {
        switch self {
        case .userRegistration(let c): return c.deviceFingerprint
        case .authentication(let c): return c.deviceFingerprint
        }
    }

    /// The organization the attempt is for: the authentication's organization (or its membership's),
    /// or the organization a registration's invitation is to.
    package var organizationId: String? {
        switch self {
        case .userRegistration(let c): return c.invitation?.organizationId
        case .authentication(let c): return c.organization?.id ?? c.organizationMembership?.organizationId
        }
    }

    package var authenticationMethod: String? {
        if case .authentication(let c) = self { return c.authenticationMethod }
        return nil
    }

    /// What is sent to the customer's endpoint: the bytes the identity service sent, unchanged,
    /// so that every member reaches it, modelled or not, nested or not, including members WorkOS
    /// adds later. Only `id` is added, and only when the context has none (the engine API accepts
    /// contexts without one). The signature is computed over exactly these bytes.
    package static func forwardedBody(_ received: [UInt8], id: String) -> [UInt8] {
        guard let object = try? JSON.object(received), object["id"] == nil,
              let open = received.firstIndex(of: UInt8(ascii: "{")) else { return received }
        var member: [UInt8] = Array(#""id":"#.utf8)
        JSONWriter.appendQuoted(id, to: &member, escaping: .javaScript)
        if !object.members.isEmpty { member.append(UInt8(ascii: ",")) }
        var out = received
        out.insert(contentsOf: member, at: open + 1)
        return out
    }

    package func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data: Data?
        switch self {
        case .userRegistration(let c): data = try? encoder.encode(c)
        case .authentication(let c): data = try? encoder.encode(c)
        }
        return Array(data ?? Data("{}".utf8))
    }
}

/// Typed reads of one object's members; every error names the field's full path (`user_data.email`).
/// Names are StaticStrings: the decoders know them when compiled, and a lookup then compares bytes.
struct ContextFields {
    let object: JSON.Object
    let path: String

    func name(_ key: StaticString) -> String { path.isEmpty ? "\(key)" : path + "." + "\(key)" }

    /// A string member; absent or null is nil, anything else is the wrong type.
    func string(_ key: StaticString) throws(ContextError) -> String? {
        guard let value = object[key], value.kind != .null else { return nil }
        guard let text = object.string(value) else { throw .wrongType(name(key)) }
        return text
    }

    func requiredString(_ key: StaticString) throws(ContextError) -> String {
        guard let text = try string(key) else { throw .missingField(name(key)) }
        return text
    }

    func bool(_ key: StaticString) throws(ContextError) -> Bool? {
        guard let value = object[key], value.kind != .null else { return nil }
        guard let flag = object.bool(value) else { throw .wrongType(name(key)) }
        return flag
    }

    func nested(_ key: StaticString) throws(ContextError) -> ContextFields? {
        guard let value = object[key], value.kind != .null else { return nil }
        guard value.kind == .object else { throw .wrongType(name(key)) }
        return ContextFields(object: object.object(value), path: name(key))
    }

    func requiredNested(_ key: StaticString) throws(ContextError) -> ContextFields {
        guard let fields = try nested(key) else { throw .missingField(name(key)) }
        return fields
    }
}

/// A decoded context and its email as `checkIdentity` normalized it. Only `decodeChecked` makes
/// one, so the identity a decision judges is always its own context's.
package struct CheckedContext: Sendable {
    package let context: ActionContext
    package let identity: Normalize.EmailAndDomain

    fileprivate init(context: ActionContext, identity: Normalize.EmailAndDomain) {
        self.context = context
        self.identity = identity
    }
}

extension UserRegistrationContext {
    init(_ fields: ContextFields) throws(ContextError) {
        id = try fields.string("id")
        object = try fields.string("object")
        userData = try UserData(fields.requiredNested("user_data"))
        invitation = try fields.nested("invitation").map { fields throws(ContextError) in try Invitation(fields) }
        ipAddress = try fields.string("ip_address")
        userAgent = try fields.string("user_agent")
        deviceFingerprint = try fields.string("device_fingerprint")
    }
}

extension UserRegistrationContext.UserData {
    init(_ fields: ContextFields) throws(ContextError) {
        object = try fields.string("object")
        email = try fields.requiredString("email")
        firstName = try fields.string("first_name")
        lastName = try fields.string("last_name")
    }
}

extension UserRegistrationContext.Invitation {
    init(_ fields: ContextFields) throws(ContextError) {
        object = try fields.string("object")
        id = try fields.string("id")
        email = try fields.string("email")
        organizationId = try fields.string("organization_id")
        inviterUserId = try fields.string("inviter_user_id")
    }
}

extension AuthenticationContext {
    init(_ fields: ContextFields) throws(ContextError) {
        id = try fields.string("id")
        object = try fields.string("object")
        user = try User(fields.requiredNested("user"))
        organization = try fields.nested("organization").map { fields throws(ContextError) in try Organization(fields) }
        organizationMembership = try fields.nested("organization_membership")
            .map { fields throws(ContextError) in try OrganizationMembership(fields) }
        ipAddress = try fields.string("ip_address")
        userAgent = try fields.string("user_agent")
        deviceFingerprint = try fields.string("device_fingerprint")
        issuer = try fields.string("issuer")
        authenticationMethod = try fields.string("authentication_method")
    }
}

extension AuthenticationContext.User {
    init(_ fields: ContextFields) throws(ContextError) {
        object = try fields.string("object")
        id = try fields.string("id")
        email = try fields.requiredString("email")
        firstName = try fields.string("first_name")
        lastName = try fields.string("last_name")
        emailVerified = try fields.bool("email_verified")
    }
}

extension AuthenticationContext.Organization {
    init(_ fields: ContextFields) throws(ContextError) {
        object = try fields.string("object")
        id = try fields.string("id")
        name = try fields.string("name")
    }
}

extension AuthenticationContext.OrganizationMembership {
    init(_ fields: ContextFields) throws(ContextError) {
        object = try fields.string("object")
        id = try fields.string("id")
        userId = try fields.string("user_id")
        organizationId = try fields.string("organization_id")
        status = try fields.string("status")
    }
}
