import Foundation
import Synchronization
import ActionsStore

/// tmux takes an application's OSC 52 only with `set-clipboard on`: `external`, its default, and
/// `off` drop it.
enum TmuxClipboard {
    /// The answer of `isOff()`, asked on a thread of its own: it takes a process start (tens of
    /// milliseconds, up to a second), which kept the first frame waiting on the UI thread.
    final class Question: Sendable {
        private let result = Mutex<Bool?>(nil)
        private let answered = DispatchSemaphore(value: 0)
        /// Nil until tmux has answered.
        var answer: Bool? { result.withLock { $0 } }

        init() {
            BlockingWork.startThread(named: "top-tmux-query") { [self] in
                let off = TmuxClipboard.isOff()
                result.withLock { $0 = off }
                answered.signal()
            }
        }

        /// The answer, waiting for it (at most the second `isOff` allows): for a key pressed in
        /// the first milliseconds, which may be the copy key.
        func waitForAnswer() -> Bool {
            if let answer { return answer }
            answered.wait()
            answered.signal()
            return answer ?? false
        }
    }

    /// True when the tmux this runs in drops an application's clipboard writes (false when tmux
    /// cannot be asked within a second).
    static func isOff() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux", "show-options", "-gv", "set-clipboard"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        // A second at most, on the monotonic clock (a wall clock stepped back stretched it).
        let deadline = ContinuousClock.now.advanced(by: .seconds(1))
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else {
            process.terminate()
            return false
        }
        // No answer (no tmux on the PATH, a socket this user cannot reach): not known to drop.
        guard process.terminationStatus == 0 else { return false }
        let value = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return value.trimmingCharacters(in: .whitespacesAndNewlines) != "on"
    }
}
