import Foundation

/// A private tmux server running one program, driven with send-keys and read with capture-pane
/// (the way fzf's tests drive a terminal program).
final class TmuxSession: @unchecked Sendable {
    let socket = "actions-test-\(UUID().uuidString.prefix(8))"

    /// `command` runs through sh; when it ends the pane prints EXIT=<status> and the stty state, then waits.
    init(_ command: String, width: Int = 100, height: Int = 30, environment: [String: String] = [:]) throws {
        let env = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let script = "env \(env) \(command); echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -x -- '-*icanon'; sleep 600"
        // Not Foundation's Process: it learns of a child's exit through a descriptor the child inherits,
        // and the tmux server that new-session leaves behind would keep it open forever.
        let status = spawnAndWait(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "main",
                                   "-x", "\(width)", "-y", "\(height)", script])
        guard status == 0 else { throw TestFailure("tmux new-session failed with \(status)") }
    }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let result = try run("tmux", ["-L", socket] + arguments)
        guard result.status == 0 else { throw TestFailure("tmux \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }

    func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "main"]) }

    func lines() throws -> [String] { try screen().components(separatedBy: "\n") }

    /// Keys in tmux send-keys syntax: "d", "Enter", "Escape", "C-c"; literal text with `literal: true`.
    func send(_ keys: String..., literal: Bool = false) throws {
        try tmux(["send-keys", "-t", "main"] + (literal ? ["-l"] : []) + keys)
    }

    func resize(width: Int, height: Int) throws {
        try tmux(["resize-window", "-t", "main", "-x", "\(width)", "-y", "\(height)"])
    }

    /// Waits until the screen satisfies `condition`; returns the screen, or throws with what was shown.
    @discardableResult
    func waitFor(timeout: Double = 10, _ what: String, _ condition: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("timed out waiting for \(what); screen was:\n\(last)")
    }

    @discardableResult
    func waitFor(_ text: String, timeout: Double = 10) async throws -> String {
        try await waitFor(timeout: timeout, "\"\(text)\"") { $0.contains(text) }
    }

    /// The dashboard's rules screen (`l`, then `a`): answers the add prompt's six steps (kind,
    /// value, scope, reason, expiry, mode; empty takes the default), waits for the impact preview,
    /// confirms with y, and waits for the list to show the new rule. Returns the preview line.
    @discardableResult
    func addDenyEntry(_ answers: [String], expectingCount count: Int) async throws -> String {
        try send("l")
        try await waitFor("Rules (\(count - 1))")
        try send("a")
        try await waitFor("Kind (domain, email, ip)")
        for answer in answers + Array(repeating: "", count: max(0, AddSteps.count - answers.count)) {
            if !answer.isEmpty { try send(answer, literal: true) }
            try send("Enter")
            try await Task.sleep(for: .milliseconds(150))
        }
        let preview = try await waitFor("? y = yes")
        try send("y")
        try await waitFor("Rules (\(count))")
        return preview
    }

    /// The add prompt's steps: kind, value, scope, reason, expiry, mode.
    enum AddSteps { static let count = 6 }

    deinit {
        _ = spawnAndWait(["tmux", "-L", socket, "kill-server"])
    }
}

/// posix_spawnp with stdout and stderr on /dev/null; waits with waitpid and returns the exit status.
func spawnAndWait(_ arguments: [String]) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    // A login shell's signal state: nothing blocked, default handlers. Spawned from a test's
    // thread, tmux and everything in its panes otherwise inherited a mask that blocked SIGHUP and
    // SIGTERM, so a killed session left its program running.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    guard posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return (status >> 8) & 0xff
}
