import Testing
import ActionsProtocol
import ActionsDomain
import ActionsStore
@testable import ActionsTop
import ActionsTestSupport

@Suite struct TopOffendersTests {
    let now = Fixtures.now
    let window: Int64 = 60_000

    func denied(_ email: String, ip: String, secondsAgo: Int64, reason: String) -> Event {
        Event(timeMs: now - secondsAgo * 1000, actionType: .userRegistration, actionId: "a", email: email,
              emailDomain: Normalize.emailDomain(email), ip: ip, verdict: .deny, decidedBy: .policy, reason: reason)
    }

    var offenders: TopOffenders {
        var deniedEvents: [Event] = []
        // A rising attack from one /24 on one domain; a steady trickle from one IPv6 /64.
        for i in 0..<12 {
            deniedEvents.append(denied("bot\(i)@Spam.Example", ip: "203.0.113.\(i + 1)", secondsAgo: i < 10 ? 5 : 50,
                                       reason: "deny domain spam.example (rule 4): disposable"))
        }
        for i in 0..<4 {
            deniedEvents.append(denied("ana@example.org", ip: "2001:db8:1:2::\(i + 1)", secondsAgo: i % 2 == 0 ? 10 : 40,
                                       reason: "rate ip-prefix 3/1m (rule 7): \(3 + i) attempts in the window"))
        }
        let failed = (0..<3).map { i in
            Event(timeMs: now - 20_000, actionType: .authentication, actionId: "f\(i)", verdict: .deny, decidedBy: .errorMode,
                  outcome: i == 0 ? .badSignature : .timeout)
        }
        return TopOffenders(denied: deniedEvents, failed: failed, nowMs: now, windowMs: window)
    }

    @Test func groupsCountAndTrend() {
        let top = offenders
        #expect(top.rows[.domains]?.first.map { ($0.key, $0.count, $0.trend) } ?? ("", 0, .steady) == ("spam.example", 12, .rising))
        #expect(top.rows[.networks]?.map(\.key) == ["203.0.113.0/24", "2001:db8:1:2::/64"], "addresses grouped by /24 and /64")
        #expect(top.rows[.networks]?.last?.trend == .steady)
        #expect(top.rows[.emails]?.first?.key == "ana@example.org" && top.rows[.emails]?.first?.count == 4)
        #expect(top.rows[.reasons]?.map(\.key) == ["deny domain spam.example (rule 4)", "rate ip-prefix 3/1m (rule 7)"],
                "a reason is counted by its rule, not its particulars")
        #expect(top.rows[.failures]?.map { "\($0.key) \($0.count)" } == ["timeout 2", "bad_signature 1"])
        // The three fail-closed answers are denials too (the store's "denied" has them), but
        // not policy's: they count under failures only.
        #expect(top.denied == 19 && top.failed == 3 && !top.capped)
    }

    /// The window's figures counted plainly, from scratch: the model the kept window must match.
    func recount(_ events: [Event], nowMs: Int64, windowMs: Int64) -> TopOffenders {
        var top = TopOffenders()
        var counts: [TopOffenders.Group: [String: (all: Int, recent: Int)]] = [:]
        for event in events where event.verdict == .deny || event.outcome != .ok {
            if event.verdict == .deny { top.denied += 1 }
            if event.outcome != .ok { top.failed += 1 }
            for (group, key) in TopOffenders.keys(of: event) {
                var value = counts[group, default: [:]][key] ?? (0, 0)
                value.all += 1
                if event.timeMs >= nowMs - windowMs / 2 { value.recent += 1 }
                counts[group, default: [:]][key] = value
            }
        }
        for (group, keys) in counts {
            top.rows[group] = keys.map { TopOffenders.Row(group: group, key: $0.key, count: $0.value.all, recent: $0.value.recent,
                                                          earlier: $0.value.all - $0.value.recent) }
                .sorted { ($0.count, $1.key) > ($1.count, $0.key) }.prefix(10).map { $0 }
        }
        return top
    }

    /// The panel's window kept arrival by arrival equals the window counted plainly, at every
    /// step, with arrivals out of order (late commits), twice (a reload and the tail), and a
    /// clock that slides events out of the window and across its halves.
    @Test(arguments: [1, 2, 3, 7, 42] as [UInt64]) func theWindowKeptByArrivalsEqualsTheWindowCountedAtOnce(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let windowMs: Int64 = 60_000
        var nowMs = now
        var window = OffenderWindow(windowMs: windowMs)
        var all: [Event] = []
        var nextID: Int64 = 1
        for step in 0..<300 {
            nowMs += Int64(random.next() % 900)
            var batch: [Event] = []
            for _ in 0..<Int(random.next() % 12) {
                let n = Int(random.next() % 40)
                // Mostly now; some committed late with a time up to 40 s back.
                let back = random.next() % 5 == 0 ? Int64(random.next() % 40_000) : Int64(random.next() % 500)
                var event = denied("u\(n % 9)@d\(n % 4).example", ip: "198.51.\(n % 3).\(n)", secondsAgo: 0,
                                   reason: n % 2 == 0 ? "deny domain d.example (rule 1)" : "locked out after \(n) failed logins")
                event.id = nextID
                nextID += 1
                event.timeMs = nowMs - back
                if n % 5 == 0 { event.verdict = .allow; event.decidedBy = .endpoint; event.outcome = .timeout }
                if n % 7 == 0 { event.decidedBy = .errorMode; event.outcome = .httpStatus }
                batch.append(event)
            }
            all += batch
            // Now and then an arrival delivered again (a reload's answer overlapping the tail).
            let again = all.isEmpty || random.next() % 4 != 0 ? [] : [all[Int(random.next() % UInt64(all.count))]]
            window.add(batch + again, nowMs: nowMs)
            window.advance(nowMs: nowMs)
            let inWindow = all.filter { $0.timeMs >= nowMs - windowMs }
            let expected = recount(inWindow, nowMs: nowMs, windowMs: windowMs)
            let kept = window.snapshot(nowMs: nowMs)
            #expect(kept == expected, "seed \(seed), step \(step)")
            let counted = Set(inWindow.filter { $0.verdict == .deny || $0.outcome != .ok }.compactMap(\.id)).count
            #expect(window.tracked == (counted, counted), "only the window's events are held")
            if kept != expected { return }
        }
    }

    @Test func aRowFiltersTheTableAndNamesItsDenyEntry() {
        let top = offenders
        let network = top.rows[.networks]![0]
        let filter = TopOffenders.filter(for: network, base: EventFilter())
        #expect(filter.deniedOnly && filter.text == "203.0.113.")
        #expect(network.denyEntry == ListEntry(kind: .ip, value: "203.0.113.0/24"))
        let six = TopOffenders.filter(for: top.rows[.networks]![1], base: EventFilter())
        #expect(six.text == "2001:db8:1:2")
        let failure = TopOffenders.filter(for: top.rows[.failures]![0], base: EventFilter(deniedOnly: true))
        #expect(failure.failuresOnly && !failure.deniedOnly && failure.outcome == .timeout)
        #expect(top.rows[.failures]![0].denyEntry == nil && top.rows[.reasons]![0].denyEntry == nil)
    }

    @Test func thePanelsKeysFilterAndDenyWithAPreview() {
        var state = Fixtures.state()
        #expect(state.handle(.char("o")) == [.loadTop])
        state.offenders = offenders
        // The first row is the top domain.
        #expect(state.handle(.char("a")) == [.previewDeny(ListEntry(kind: .domain, value: "spam.example", reason: "from the dashboard's attack panel"))])
        _ = state.handle(.char("j"))
        _ = state.handle(.char("j"))
        var shadow = ListEntry(kind: .ip, value: "203.0.113.0/24", reason: "from the dashboard's attack panel")
        shadow.shadow = true
        #expect(state.handle(.char("s")) == [.previewDeny(shadow)])
        #expect(state.handle(.enter) == [.reloadEvents])
        #expect(state.screen == .events && state.filter.text == "203.0.113." && state.filter.deniedOnly)
        _ = state.handle(.char("o"))
        _ = state.handle(.char("G"))
        #expect(state.handle(.char("a")).isEmpty && state.message?.isError == true, "a failure outcome cannot be denied")
        #expect(state.handle(.char("w")) == [.loadStats, .loadTop])
        #expect(state.stats.window == .fiveMinutes)
    }
}

/// The attack panel keeps policy's denials apart from endpoint failures, and groups a reason's counts.
@Suite struct TopOffendersGroupingTests {
    @Test func failClosedEndpointFailuresAreNotDeniedDomains() {
        let now: Int64 = 1_800_000_000_000
        func event(_ n: Int, _ email: String, decidedBy: DecidedBy, outcome: Outcome = .ok, reason: String) -> Event {
            Event(id: Int64(n), timeMs: now - 1000, actionType: .authentication, actionId: "a\(n)", email: email,
                  emailDomain: String(email.split(separator: "@")[1]), ip: "203.0.113.\(n)", verdict: .deny, decidedBy: decidedBy,
                  reason: reason, outcome: outcome)
        }
        let denied = (0..<5).map { event($0, "user\($0)@gmail.com", decidedBy: .errorMode, outcome: .timeout, reason: "endpoint timeout; fail-closed") }
            + [event(10, "mallory@acme.io", decidedBy: .policy, reason: "locked out after 101 failed logins"),
               event(11, "mallory@acme.io", decidedBy: .policy, reason: "locked out after 103 failed logins")]
        let top = TopOffenders(denied: denied, failed: denied.filter { $0.outcome != .ok }, nowMs: now, windowMs: 60_000)
        #expect(top.rows[.domains]?.map(\.key) == ["acme.io"], "gmail.com is not an attacker")
        #expect(top.rows[.failures]?.first?.count == 5)
        #expect(top.rows[.reasons]?.map(\.key) == ["locked out after # failed logins"])
        #expect(top.rows[.reasons]?.first?.count == 2)
        let filter = TopOffenders.filter(for: top.rows[.reasons]![0], base: EventFilter())
        #expect(filter.text == "locked out after" && filter.deniedOnly)
    }
}
