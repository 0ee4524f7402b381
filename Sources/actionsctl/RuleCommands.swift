import ArgumentParser
import ActionsProtocol
import ActionsDomain
import ActionsStore
import ActionsPolicy
import Foundation

// Deny and allow entries share their options and their code: they differ only in effect.

struct ListEntryOptions: ParsableArguments {
    @Argument(help: "domain, email or ip (an address or CIDR)") var kind: String
    @Argument(help: "example.com, *.example.com, user@example.com, 203.0.113.0/24, 2001:db8::/32") var value: String
    @Option(help: "all, user_registration (reg) or authentication (auth); --action is the same.") var scope = "all"
    @Option(help: "The same as --scope, as rate add names it.") var action: String?
    @Option(help: "Why (shown to operators).") var reason: String?
    @Option(help: "Shown to the denied user.") var message: String?
    @Option(help: "Expire after a duration: 90s, 30m, 2h, 7d.") var expires: String?
    @Flag(help: "Log what it would change, change no verdict (promote it later with `rule promote ID`).") var shadow = false
    @Flag(help: "Print its impact on the last 24 hours of decisions; change nothing.") var preview = false

    func entry(_ effect: ListEffect) throws -> ListEntry {
        guard let kind = EntryKind(name: kind) else { throw ValidationError("unknown kind \(self.kind); use domain, email or ip") }
        let expiresMs = try expires.map { WallClock.nowMs() + (try parseDuration($0)) }
        let value = try attempt { try ListEntry.normalize(self.value, kind: kind) }
        return ListEntry(effect: effect, kind: kind, value: value, scope: try parseScope(scope, action: action), reason: reason,
                         message: message, shadow: shadow, expiresMs: expiresMs)
    }
}

/// `--scope` or its alias `--action` (rate add's name for it); both given must agree.
func parseScope(_ name: String, action: String? = nil) throws -> RuleScope {
    func parsed(_ name: String) throws -> RuleScope {
        guard let scope = RuleScope(name: name) else {
            throw ValidationError("unknown scope \(TerminalText.escape(name)); use all, user_registration (reg) or authentication (auth)")
        }
        return scope
    }
    let scope = try parsed(name)
    guard let action else { return scope }
    let fromAction = try parsed(action)
    guard scope == .all || scope == fromAction else { throw ValidationError("--scope \(scope.rawValue) and --action \(fromAction.rawValue) disagree") }
    return fromAction
}

enum ListEntryCommands {
    static func list(_ effect: ListEffect, store: Store, json: Bool) throws {
        let now = WallClock.nowMs()
        let entries = try attempt { try store.listEntries(effect) }
        if entries.isEmpty && !json { printEmpty("no \(effect.rawValue)-list entries") }
        for entry in entries {
            if json {
                try printJSONLine(["id": entry.id, "effect": entry.effect.rawValue, "kind": entry.kind.rawValue, "value": entry.value,
                                   "scope": entry.scope.rawValue, "shadow": entry.shadow, "source": entry.source,
                                   "reason": entry.reason, "message": entry.message, "created_by": entry.createdBy,
                                   "created_ms": entry.createdMs, "expires_ms": entry.expiresMs])
            } else {
                let expiry = entry.expiresMs.map { (entry.isActive(nowMs: now) ? "until " : "expired ") + formatTime($0) } ?? "no expiry"
                printRow("\(entry.id)", entry.kind.rawValue, entry.value, entry.scope.rawValue, entry.shadow ? "shadow" : "enforcing",
                         entry.source.map { "source=\($0)" } ?? "manual", expiry, entry.reason ?? "", entry.message ?? "")
            }
        }
    }

    static func add(_ options: ListEntryOptions, _ effect: ListEffect, store: Store) throws {
        let entry = try options.entry(effect)
        if options.preview {
            guard effect == .deny else { throw ValidationError("--preview shows what a deny entry would deny; allow entries deny nothing") }
            let impact = try attempt { try ImpactPreview.run(store, entry: entry) }
            printRow("preview: \(entry.label)", ImpactPreview.sentence(impact))
            return
        }
        let saved = try attempt { try store.addListEntry(entry, by: .current()) }
        printRow("added \(saved.id)", saved.effect.rawValue, saved.kind.rawValue, saved.value, saved.scope.rawValue,
                 saved.shadow ? "shadow" : "enforcing")
    }

    static func remove(_ effect: ListEffect, _ key: String, store: Store) throws {
        let entries = try attempt { try store.listEntries(effect) }
        // By id, or by value in any spelling `add` takes (Unicode, upper case, a trailing dot).
        // (An entry stored before a spelling rule existed is still found as it was written.)
        let spellings = Set(EntryKind.allCases.compactMap { try? ListEntry.normalize(key, kind: $0) } + [key.lowercased()])
        let matches = Int64(key).map { id in entries.filter { $0.id == id } } ?? entries.filter { spellings.contains($0.value) }
        guard !matches.isEmpty else { throw failure("no \(effect.rawValue) entry \(TerminalText.escape(key))") }
        for match in matches {
            _ = try attempt { try store.removeRule(id: match.id, by: .current()) }
            printRow("removed \(match.id)", match.kind.rawValue, match.value)
        }
    }

    static func importList(_ options: ImportOptions, _ effect: ListEffect, store: Store) throws {
        guard let kind = EntryKind(name: options.kind) else { throw ValidationError("unknown kind \(options.kind); use domain, email or ip") }
        let bytes: Data
        if options.file == "-" {
            bytes = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let data = FileManager.default.contents(atPath: options.file) else {
                throw failure("cannot read \(options.file)", status: 66)
            }
            bytes = data
        }
        // A bad line is reported (one line on stderr, with its number) and skipped; it does not
        // cost the rest of the list.
        var values: [String] = []
        var skipped = 0
        // What skipped lines said, as far as they can be read: an entry they may have held must not go silently.
        var skippedTexts: [String?] = []
        for (line, entry) in ListImport.values(in: bytes) {
            do {
                guard case .value(let value) = entry else { throw ValidationError("not UTF-8") }
                do {
                    values.append(try ListEntry.normalize(value, kind: kind))
                } catch {
                    skippedTexts.append(value.contains("\0") ? nil : value.lowercased())
                    throw error
                }
            } catch {
                if case .notUTF8 = entry { skippedTexts.append(nil) }
                skipped += 1
                FileHandle.standardError.write(Data((TerminalText.escape("line \(line): skipped: \(error)") + "\n").utf8))
            }
        }
        // A re-import replaces its source's entries: a skipped line that may have held one
        // (unreadable, or naming an entry that would go) must not remove it silently. A file
        // saved as UTF-16 was such a case: every line skipped, every entry removed.
        if !skippedTexts.isEmpty && !options.force && !options.dryRun {
            let kept = Set(values)
            let wouldGo = try attempt { try store.listEntries(effect) }
                .filter { $0.source == options.source && $0.kind == kind && !kept.contains($0.value) }.map(\.value)
            let held = skippedTexts.contains { text in
                guard let text else { return true }
                let bare = text.hasSuffix(".") ? String(text.dropLast()) : text
                return wouldGo.contains(bare)
            }
            if held && !wouldGo.isEmpty {
                throw failure("skipped lines may hold entries of source \(options.source) that this import would remove (\(wouldGo.count)); nothing was changed (fix the lines, or --force to replace anyway)")
            }
        }
        let result = try attempt {
            try store.importEntries(values, source: options.source, effect: effect, kind: kind, scope: try parseScope(options.scope, action: options.action),
                                    reason: options.reason, shadow: options.shadow, dryRun: options.dryRun, by: .current())
        }
        if options.dryRun {
            for value in result.added { printRow("+", value) }
            for value in result.removed { printRow("-", value) }
        }
        printRow("\(options.dryRun ? "would import" : "imported") source \(options.source):",
                 "\(result.added.count) added, \(result.removed.count) removed, \(result.unchanged) unchanged, \(skipped) lines skipped")
    }
}

struct ImportOptions: ParsableArguments {
    @Option(help: "domain, email or ip: what each line of the file is.") var kind: String
    @Option(help: "The list's name: re-importing it replaces its entries, and only its entries.") var source: String
    @Argument(help: "One value per line, # starts a comment; - reads standard input.") var file: String
    @Option(help: "all, user_registration (reg) or authentication (auth); --action is the same.") var scope = "all"
    @Option(help: "The same as --scope, as rate add names it.") var action: String?
    @Option(help: "Why (shown to operators).") var reason: String?
    @Flag(help: "Import as shadow entries.") var shadow = false
    @Flag(help: "Print what would be added and removed; change nothing.") var dryRun = false
    @Flag(help: "Replace the source's entries even when lines were skipped (their entries are removed).") var force = false
}

struct DenyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Deny lists: email domains, emails, IPs and CIDRs.",
                                                    subcommands: [List.self, Add.self, Remove.self, Import.self])
    struct List: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws { try ListEntryCommands.list(.deny, store: try database.open(), json: json) }
    }
    struct Add: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var options: ListEntryOptions
        func run() throws { try ListEntryCommands.add(options, .deny, store: try database.open()) }
    }
    struct Remove: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The entry's id (see deny list), or its value.") var entry: String
        func run() throws { try ListEntryCommands.remove(.deny, entry, store: try database.open()) }
    }
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace an imported list's entries (atomically) with a file's.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var options: ImportOptions
        func run() throws { try ListEntryCommands.importList(options, .deny, store: try database.open()) }
    }
}

struct AllowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allow", abstract: "Allow entries: exceptions that beat deny entries and rate rules (not a lockout).",
        subcommands: [List.self, Add.self, Remove.self, Import.self])
    struct List: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws { try ListEntryCommands.list(.allow, store: try database.open(), json: json) }
    }
    struct Add: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var options: ListEntryOptions
        func run() throws { try ListEntryCommands.add(options, .allow, store: try database.open()) }
    }
    struct Remove: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The entry's id (see allow list), or its value.") var entry: String
        func run() throws { try ListEntryCommands.remove(.allow, entry, store: try database.open()) }
    }
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace an imported list's entries (atomically) with a file's.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var options: ImportOptions
        func run() throws { try ListEntryCommands.importList(options, .allow, store: try database.open()) }
    }
}

struct RateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate", abstract: "Rate rules: attempts per IP, IP prefix, email domain or account within a sliding window.",
        subcommands: [List.self, Add.self, Remove.self])
    struct List: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws {
            let rates = try attempt { try database.open().rules().rates }
            if rates.isEmpty && !json { printEmpty("no rate rules") }
            for rule in rates {
                if json {
                    try printJSONLine(["id": rule.id, "key": rule.key.rawValue, "limit": rule.limit, "window_ms": rule.windowMs,
                                       "rate": rule.spec, "scope": rule.scope.rawValue, "shadow": rule.shadow, "message": rule.message,
                                       "reason": rule.reason, "created_by": rule.createdBy, "created_ms": rule.createdMs])
                } else {
                    printRow("\(rule.id)", rule.key.rawValue, rule.spec, rule.scope.rawValue, rule.shadow ? "shadow" : "enforcing",
                             rule.message ?? "", rule.reason ?? "")
                }
            }
        }
    }
    struct Add: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "ip, ip-prefix (IPv4 /24, IPv6 /64), domain (the email's) or email (the account)") var key: String
        @Argument(help: "LIMIT/WINDOW: 20/10m is at most 20 attempts in any 10 minutes.") var rate: String
        @Option(help: "user_registration (reg), authentication (auth) or all (the default).") var action: String?
        @Option(help: "The same as --action, as deny and allow add name it.") var scope: String?
        @Option(help: "Shown to the denied user.") var message: String?
        @Option(help: "Why (shown to operators).") var reason: String?
        @Flag(help: "Log what it would deny, deny nothing (promote it later with `rule promote ID`).") var shadow = false
        @Flag(help: "Print its impact on the last 24 hours of decisions; change nothing.") var preview = false
        func run() throws {
            guard let key = RateKey(name: key) else { throw ValidationError("unknown key \(self.key); use ip, ip-prefix, domain or email") }
            let (limit, window) = try attempt { try RateRule.parse(rate) }
            let scope = try parseScope(self.scope ?? "all", action: action)
            let rule = RateRule(key: key, limit: limit, windowMs: window, scope: scope, reason: reason, message: message, shadow: shadow)
            let store = try database.open()
            if preview {
                let impact = try attempt { try ImpactPreview.run(store, rate: rule) }
                printRow("preview: \(rule.label)", ImpactPreview.sentence(impact))
                return
            }
            let saved = try attempt { try store.addRateRule(rule, by: .current()) }
            printRow("added \(saved.id)", saved.label, saved.scope.rawValue, saved.shadow ? "shadow" : "enforcing")
        }
    }
    struct Remove: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The rule's id (see rate list).") var id: Int64
        func run() throws {
            let store = try database.open()
            guard try attempt({ try store.rules().rates }).contains(where: { $0.id == id }) else { throw failure("no rate rule \(id)") }
            let label = try attempt { try store.removeRule(id: id, by: .current()) }
            printRow("removed \(id)", label)
        }
    }
}

struct RuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rule", abstract: "Every rule by id: list with hits, promote a shadow rule, demote one to shadow.",
        subcommands: [List.self, Promote.self, Demote.self, Remove.self])
    struct List: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Count hits over this period: 90s, 30m, 2h, 7d.") var since = "24h"
        @Flag(help: "Only shadow rules.") var shadow = false
        @Flag(help: "Print JSON lines.") var json = false
        func run() throws {
            let store = try database.open()
            let rules = try attempt { try store.rules() }
            let hits = try attempt { try store.ruleHits(sinceMs: WallClock.nowMs() - (try parseDuration(since))) }
            let rows: [(id: Int64, label: String, scope: RuleScope, shadow: Bool)] =
                (rules.entries.map { ($0.id, $0.label, $0.scope, $0.shadow) } + rules.rates.map { ($0.id, $0.label, $0.scope, $0.shadow) })
                .filter { !shadow || $0.shadow }.sorted { $0.id < $1.id }
            if rows.isEmpty && !json { printEmpty(shadow ? "no shadow rules" : "no rules") }
            for row in rows {
                let hit = hits[row.id] ?? RuleHits()
                if json {
                    try printJSONLine(["id": row.id, "rule": row.label, "scope": row.scope.rawValue, "shadow": row.shadow,
                                       "decided": hit.decided, "shadow_hits": hit.shadow])
                } else {
                    printRow("\(row.id)", row.label, row.scope.rawValue, row.shadow ? "shadow" : "enforcing",
                             "decided=\(hit.decided)", "shadow_hits=\(hit.shadow)")
                }
            }
        }
    }
    struct Promote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a shadow rule enforcing (audited).")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: Int64
        func run() throws {
            let label = try attempt { try database.open().setShadow(false, rule: id, by: .current()) }
            printRow("promoted \(id)", label, "enforcing")
        }
    }
    struct Demote: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an enforcing rule shadow: logged, not applied (audited).")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: Int64
        func run() throws {
            let label = try attempt { try database.open().setShadow(true, rule: id, by: .current()) }
            printRow("demoted \(id)", label, "shadow")
        }
    }
    struct Remove: ParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Argument var id: Int64
        func run() throws {
            let label = try attempt { try database.open().removeRule(id: id, by: .current()) }
            printRow("removed \(id)", label)
        }
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-evaluate logged decisions against today's local policy (no endpoint calls): which verdicts would change, and by which rule.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "How far back: 90s, 30m, 2h, 7d.") var since = "24h"
    @Flag(help: "Print JSON lines.") var json = false
    func run() throws {
        let store = try database.open()
        let sinceMs = WallClock.nowMs() - (try parseDuration(since))
        let rules = try attempt { try store.rules(includeExpired: false) }
        var replay = Replay(book: RuleBook(rules), foldAddresses: try attempt { try store.foldAddresses() })
        try attempt { try store.replay(&replay, sinceMs: sinceMs) }
        let impacts = replay.impact.sorted { $0.key < $1.key }
        if json {
            try printJSONLine(["examined": replay.examined, "changed": replay.changed, "since_ms": sinceMs])
            for (id, impact) in impacts {
                try printJSONLine(["rule_id": id, "rule": rules.label(of: id), "newly_denied": impact.newlyDenied,
                                   "no_longer_denied": impact.noLongerDenied, "users": impact.users.count])
            }
            return
        }
        printRow("replayed \(replay.examined) decisions since \(formatTime(sinceMs)): \(replay.changed) verdicts would change")
        for (id, impact) in impacts {
            var effects: [String] = []
            if impact.newlyDenied > 0 { effects.append("would deny \(impact.newlyDenied) allowed (\(impact.users.count) users)") }
            if impact.noLongerDenied > 0 { effects.append("would no longer deny \(impact.noLongerDenied)") }
            printRow("rule \(id)", rules.label(of: id) ?? "(removed)", effects.joined(separator: ", "))
        }
    }
}
