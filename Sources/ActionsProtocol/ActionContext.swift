import Foundation

/// `user_registration_action_context`, as WorkOS sends it. Unknown fields are ignored.
public struct UserRegistrationContext: Codable, Sendable, Equatable {
    public struct UserData: Codable, Sendable, Equatable {
        public var object: String?
        public var email: String
        public var firstName: String?
        public var lastName: String?

        enum CodingKeys: String, CodingKey {
            case object, email
            case firstName = "first_name"
            case lastName = "last_name"
        }

        public init(email: String, firstName: String? = nil, lastName: String? = nil) {
            self.object = "user_data"
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
        }
    }

    public struct Invitation: Codable, Sendable, Equatable {
        public var object: String?
        public var id: String?
        public var email: String?
        public var organizationId: String?
        public var inviterUserId: String?

        enum CodingKeys: String, CodingKey {
            case object, id, email
            case organizationId = "organization_id"
            case inviterUserId = "inviter_user_id"
        }
    }

    public var id: String?
    public var object: String?
    public var userData: UserData
    public var invitation: Invitation?
    public var ipAddress: String?
    public var userAgent: String?
    public var deviceFingerprint: String?

    enum CodingKeys: String, CodingKey {
        case id, object, invitation
        case userData = "user_data"
        case ipAddress = "ip_address"
        case userAgent = "user_agent"
        case deviceFingerprint = "device_fingerprint"
    }

    public init(id: String? = nil, userData: UserData, ipAddress: String? = nil, userAgent: String? = nil,
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
public struct AuthenticationContext: Codable, Sendable, Equatable {
    public struct User: Codable, Sendable, Equatable {
        public var object: String?
        public var id: String?
        public var email: String
        public var firstName: String?
        public var lastName: String?
        public var emailVerified: Bool?

        enum CodingKeys: String, CodingKey {
            case object, id, email
            case firstName = "first_name"
            case lastName = "last_name"
            case emailVerified = "email_verified"
        }

        public init(id: String? = nil, email: String, firstName: String? = nil, lastName: String? = nil,
                    emailVerified: Bool? = nil) {
            self.object = "user"
            self.id = id
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
            self.emailVerified = emailVerified
        }
    }

    public struct Organization: Codable, Sendable, Equatable {
        public var object: String?
        public var id: String?
        public var name: String?
    }

    public struct OrganizationMembership: Codable, Sendable, Equatable {
        public var object: String?
        public var id: String?
        public var userId: String?
        public var organizationId: String?
        public var status: String?

        enum CodingKeys: String, CodingKey {
            case object, id, status
            case userId = "user_id"
            case organizationId = "organization_id"
        }
    }

    public var id: String?
    public var object: String?
    public var user: User
    public var organization: Organization?
    public var organizationMembership: OrganizationMembership?
    public var ipAddress: String?
    public var userAgent: String?
    public var deviceFingerprint: String?
    public var issuer: String?

    enum CodingKeys: String, CodingKey {
        case id, object, user, organization, issuer
        case organizationMembership = "organization_membership"
        case ipAddress = "ip_address"
        case userAgent = "user_agent"
        case deviceFingerprint = "device_fingerprint"
    }

    public init(id: String? = nil, user: User, ipAddress: String? = nil, userAgent: String? = nil,
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
public enum ContextError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedJSON(String)
    case missingField(String)
    case wrongType(String)
    case wrongObject(expected: String, got: String)

    public var description: String {
        switch self {
        case .malformedJSON(let why): return "body is not valid JSON: \(why)"
        case .missingField(let path): return "missing required field \(path)"
        case .wrongType(let path): return "field \(path) has the wrong type"
        case .wrongObject(let expected, let got): return "object is \(got), expected \(expected)"
        }
    }

    public var code: String {
        switch self {
        case .malformedJSON: return "malformed_json"
        case .missingField: return "missing_field"
        case .wrongType: return "wrong_type"
        case .wrongObject: return "wrong_object"
        }
    }
}

/// Either kind of context, with the fields policy needs in one place.
public enum ActionContext: Sendable, Equatable {
    case userRegistration(UserRegistrationContext)
    case authentication(AuthenticationContext)

    public var type: ActionType {
        switch self {
        case .userRegistration: return .userRegistration
        case .authentication: return .authentication
        }
    }

    public var id: String? {
        switch self {
        case .userRegistration(let c): return c.id
        case .authentication(let c): return c.id
        }
    }

    public var email: String {
        switch self {
        case .userRegistration(let c): return c.userData.email
        case .authentication(let c): return c.user.email
        }
    }

    public var userId: String? {
        if case .authentication(let c) = self { return c.user.id }
        return nil
    }

    public var ipAddress: String? {
        switch self {
        case .userRegistration(let c): return c.ipAddress
        case .authentication(let c): return c.ipAddress
        }
    }

    public var userAgent: String? {
        switch self {
        case .userRegistration(let c): return c.userAgent
        case .authentication(let c): return c.userAgent
        }
    }

    /// The domain part of the email, lower-cased; empty when there is no `@`.
    public var emailDomain: String {
        guard let at = email.lastIndex(of: "@") else { return "" }
        return email[email.index(after: at)...].lowercased()
    }

    /// One decoder for every request: it holds no per-call state, and making one each time showed in profiles.
    private static let decoder = JSONDecoder()

    /// Decodes a body of the given type. The `object` member, when present, must match.
    public static func decode(_ type: ActionType, from body: [UInt8]) throws(ContextError) -> ActionContext {
        let data = Data(body)
        do {
            switch type {
            case .userRegistration:
                let context = try decoder.decode(UserRegistrationContext.self, from: data)
                try checkObject(context.object, type)
                return .userRegistration(context)
            case .authentication:
                let context = try decoder.decode(AuthenticationContext.self, from: data)
                try checkObject(context.object, type)
                return .authentication(context)
            }
        } catch let error as ContextError {
            throw error
        } catch let error as DecodingError {
            throw map(error)
        } catch {
            throw .malformedJSON("\(error)")
        }
    }

    /// The context with its `id` and `object` filled in as WorkOS would send them, for forwarding.
    public func withID(_ id: String) -> ActionContext {
        switch self {
        case .userRegistration(var c):
            c.id = id
            c.object = type.contextObject
            return .userRegistration(c)
        case .authentication(var c):
            c.id = id
            c.object = type.contextObject
            return .authentication(c)
        }
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data: Data?
        switch self {
        case .userRegistration(let c): data = try? encoder.encode(c)
        case .authentication(let c): data = try? encoder.encode(c)
        }
        return Array(data ?? Data("{}".utf8))
    }

    private static func checkObject(_ object: String?, _ type: ActionType) throws(ContextError) {
        if let object, object != type.contextObject {
            throw .wrongObject(expected: type.contextObject, got: object)
        }
    }

    private static func path(_ codingPath: [CodingKey], _ key: CodingKey? = nil) -> String {
        (codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func map(_ error: DecodingError) -> ContextError {
        switch error {
        case .keyNotFound(let key, let context): return .missingField(path(context.codingPath, key))
        case .valueNotFound(_, let context): return .missingField(path(context.codingPath))
        case .typeMismatch(_, let context): return .wrongType(path(context.codingPath))
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return .malformedJSON(context.debugDescription) }
            return .wrongType(path(context.codingPath))
        @unknown default: return .malformedJSON("\(error)")
        }
    }
}
