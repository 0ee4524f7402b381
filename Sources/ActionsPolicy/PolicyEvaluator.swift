import ActionsProtocol
import ActionsDomain

/// One line of a decision trace: what was checked and what it found.
package struct TraceStep: Sendable, Equatable, Codable {
    package var check: String
    package var result: String

    package init(_ check: String, _ result: String) {
        self.check = check
        self.result = result
    }
}

/// What local policy says about an attempt, before any endpoint is called.
package struct LocalVerdict: Sendable {
    /// Deny now (a deny entry, a rate rule or a lockout); otherwise the endpoint or the default decides.
    package var denied = false
    /// The rule that decided: the deny entry or rate rule that denied, or the allow entry that
    /// overrode one. Nil for a lockout and when no rule applied.
    package var rule: Int64?
    package var reason: String?
    /// Shown to the denied user.
    package var message: String?
    /// A shadow rule that would have changed this verdict (and changed nothing).
    package var shadowRule: Int64?
    package var shadowReason: String?
    /// Filled only when asked for (`actionsctl test`).
    package var trace: [TraceStep] = []
}

/// Local policy, in one place for live decisions, replay and previews.
///
/// Precedence, strongest first:
/// 1. a lockout (authentication only): an allow entry does not lift it;
/// 2. an allow entry: beats deny entries and rate rules;
/// 3. a deny entry;
/// 4. a rate rule over its limit.
///
/// Shadow rules take part in none of this: a shadow deny entry or rate rule that would have
/// denied an attempt that is not denied, or a shadow allow entry that would have allowed one
/// denied by a rule, is recorded as the attempt's shadow hit.
package enum PolicyEvaluator {
    package struct Options: Sendable {
        /// Count the attempt in the rate windows (not for tests and previews).
        package var record: Bool
        package var trace: Bool
        package var foldAddresses: Bool

        package init(record: Bool = true, trace: Bool = false, foldAddresses: Bool = false) {
            self.record = record
            self.trace = trace
            self.foldAddresses = foldAddresses
        }
    }

    package static func evaluate(_ attempt: Attempt, book: RuleBook, counter: RateCounter?, lockout: LoginFailures? = nil,
                                options: Options = Options()) -> LocalVerdict {
        var verdict = LocalVerdict()
        let now = attempt.timeMs
        let allow = book.match(.allow, attempt, nowMs: now)
        let deny = book.match(.deny, attempt, nowMs: now)
        let counts = book.rates.isEmpty ? [] : (counter ?? RateCounter()).admit(attempt, rules: book.rates,
                                                                                 foldAddresses: options.foldAddresses,
                                                                                 record: options.record)
        let over = counts.first { $0.isOver && !$0.rule.shadow }
        let locked = attempt.type == .authentication ? lockout.flatMap { $0.isLocked(nowMs: now) ? $0 : nil } : nil

        if options.trace {
            verdict.trace.append(TraceStep("allow entries", allow.map(describe) ?? "no match"))
            verdict.trace.append(TraceStep("deny entries", deny.map(describe) ?? "no match"))
            let rates = counts.filter { !$0.rule.shadow }
            verdict.trace.append(TraceStep("rate rules", rates.isEmpty ? "none in scope" : rates.map(describe).joined(separator: "; ")))
            if attempt.type == .authentication {
                verdict.trace.append(TraceStep("lockout", locked.map { "locked after \($0.failures) failed logins" } ?? "not locked"))
            }
        }

        if let locked {
            let minutes = max(1, Int(((locked.lockedUntilMs ?? now) - now + 59_999) / 60_000))
            verdict.denied = true
            verdict.reason = "locked out after \(locked.failures) failed logins"
            verdict.message = "Too many failed sign-in attempts. Try again in \(minutes) minute\(minutes == 1 ? "" : "s")."
        } else if let allow {
            if let overridden = deny.map({ "\($0.label) (rule \($0.id))" }) ?? over.map({ "\($0.rule.label) (rule \($0.rule.id))" }) {
                verdict.rule = allow.id
                verdict.reason = "\(allow.label) (rule \(allow.id)) overrides \(overridden)"
            }
        } else if let deny {
            verdict.denied = true
            verdict.rule = deny.id
            verdict.reason = "\(deny.label) (rule \(deny.id))" + (deny.reason.map { ": \($0)" } ?? "")
            verdict.message = deny.message ?? defaultMessage(deny.kind)
        } else if let over {
            verdict.denied = true
            verdict.rule = over.rule.id
            verdict.reason = "\(over.rule.label) (rule \(over.rule.id)): \(over.before) attempts in the window"
                + (over.rule.reason.map { ": \($0)" } ?? "")
            verdict.message = over.rule.message ?? "Too many attempts. Please try again later."
        }

        // Shadow rules: only what would have changed the verdict counts as a hit.
        if locked == nil {
            if verdict.denied {
                if let shadowAllow = book.match(.allow, shadow: true, attempt, nowMs: now) {
                    verdict.shadowRule = shadowAllow.id
                    verdict.shadowReason = "shadow \(shadowAllow.label) (rule \(shadowAllow.id)) would allow"
                }
            } else if allow == nil {
                if let shadowDeny = book.match(.deny, shadow: true, attempt, nowMs: now) {
                    verdict.shadowRule = shadowDeny.id
                    verdict.shadowReason = "shadow \(shadowDeny.label) (rule \(shadowDeny.id)) would deny"
                } else if let shadowOver = counts.first(where: { $0.isOver && $0.rule.shadow }) {
                    verdict.shadowRule = shadowOver.rule.id
                    verdict.shadowReason = "shadow \(shadowOver.rule.label) (rule \(shadowOver.rule.id)) would deny: \(shadowOver.before) attempts in the window"
                }
            }
        }
        if options.trace {
            verdict.trace.append(TraceStep("shadow rules", verdict.shadowReason ?? "no hit"))
        }
        return verdict
    }

    private static func describe(_ entry: ListEntry) -> String {
        "matched rule \(entry.id) (\(entry.label), scope \(entry.scope.rawValue))"
    }

    private static func describe(_ count: RateCounter.Count) -> String {
        "rule \(count.rule.id) (\(count.rule.label)): \(count.before) of \(count.rule.limit) in the window"
            + (count.isOver ? ", over the limit" : "")
    }

    /// What a user denied by an entry without a message of its own is told.
    package static func defaultMessage(_ kind: EntryKind) -> String {
        switch kind {
        case .domain: return "Sign-ups and sign-ins from this email domain are not allowed."
        case .email: return "This account is not allowed to continue."
        case .ip: return "Requests from this network are not allowed."
        }
    }
}
