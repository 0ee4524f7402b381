import Testing
import Foundation
import ActionsTestSupport
import ActionsDomain
import ActionsStore

/// The real actions-top in tmux while live traffic arrives: every key that reloads the table
/// (filters, search and clearing it, pause and resume) is pressed again and again, and no event
/// is ever on the screen twice; once the traffic stops, the rows shown are exactly the log's
/// newest events.
@Suite(.serialized) struct DashboardLiveTableTests {
    /// Every load-generator email on a screen, one per table row that shows one.
    func emails(_ screen: String) -> [String] {
        screen.components(separatedBy: "\n").compactMap { line in
            line.range(of: #"load\d+x\d+@[a-z.]+"#, options: .regularExpression).map { String(line[$0]) }
        }
    }

    func duplicates(_ screen: String) -> Set<String> {
        Set(Dictionary(grouping: emails(screen), by: { $0 }).filter { $0.value.count > 1 }.keys)
    }

    @Test(arguments: StoreBackend.allCases) func noEventTwiceWhileKeysReloadUnderLiveTraffic(_ backend: StoreBackend) async throws {
        let harness = try ServerHarness(backend: backend)
        try harness.ctl("deny", "add", "domain", "mailinator.com")
        try await harness.settingsApplied()
        let top = try TmuxSession("\(Paths.binary("actions-top")) --refresh 100", width: 132, height: 60,
                                  environment: ["TERM": "xterm-256color", "ACTIONS_DB": harness.databasePath, "LANG": "C.UTF-8"])
        try await top.waitFor("TIME")
        let port = harness.server.port
        let load = LoadGenerator()
        let traffic = Thread { load.run(port: port, rate: 150, seconds: 9, connections: 3) }
        traffic.start()
        try await top.waitFor(timeout: 10, "live rows") { !self.emails($0).isEmpty }

        let keys: [[String]] = [["d"], ["d"], ["f"], ["f"], ["t"], ["t"], ["t"], ["p"], ["p"],
                                ["/", "example", "Enter"], ["Escape"], ["/", "x1", "Enter"], ["/", "Escape"], ["Escape"]]
        var screensChecked = 0
        let started = Date()
        while Date().timeIntervalSince(started) < 7 {
            for sequence in keys {
                // Key names as tmux knows them; anything longer is typed text.
                for key in sequence {
                    try top.send(key, literal: key.count > 1 && !["Enter", "Escape"].contains(key))
                }
                // Look at the screen several times between the reload and the next tails.
                for _ in 0..<3 {
                    try await Task.sleep(for: .milliseconds(40))
                    var twice = duplicates(try top.screen())
                    screensChecked += 1
                    // capture-pane can catch a frame half drawn (rows moving down one, an email at
                    // its old and its new place): a row the table holds twice is still there a moment later.
                    if !twice.isEmpty {
                        try await Task.sleep(for: .milliseconds(250))
                        twice = twice.intersection(duplicates(try top.screen()))
                    }
                    #expect(twice.isEmpty, "after \(sequence): on screen twice: \(twice.sorted())")
                    if !twice.isEmpty { return }
                }
            }
        }
        while !traffic.isFinished { try await Task.sleep(for: .milliseconds(100)) }
        #expect(screensChecked > 20, "only \(screensChecked) screens were checked")

        // Traffic over, no filter: the rows shown are the log's newest events, none missing.
        try top.send("Escape")
        let store = try await BlockingWork.run { try harness.store() }
        defer { store.close() }
        let total = try await BlockingWork.run { try store.eventCount() }
        // The log no longer changes: its newest rows are read once (off the pool), the screen polled.
        let recent = try await BlockingWork.run { try store.latestEvents(limit: 1000) }
        let settled = try await top.waitFor(timeout: 10, "the table caught up with \(total) events") { screen in
            let shown = self.emails(screen)
            // The screen is sorted by time, ties by id; ids follow commit order, which concurrent
            // clients' decision times need not: the newest rows by time, from a wider stretch by id.
            guard !shown.isEmpty else { return false }
            let newest = recent.sorted { ($0.timeMs, $0.id ?? 0) > ($1.timeMs, $1.id ?? 0) }.prefix(shown.count).compactMap(\.email)
            return Set(shown) == Set(newest)
        }
        let shown = emails(settled)
        #expect(Set(shown).count == shown.count)
        try top.send("q")
        try await top.waitFor("EXIT=0")
    }
}
