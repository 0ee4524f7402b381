import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C, `kill`, and a dropped SSH connection end the dashboard the way `q` does: the loop sees
/// the request, leaves ncurses (the terminal gets its modes back) and the demo cleans up. Without
/// this, SIGINT killed the process with the terminal still raw, and a hang-up with SIGHUP ignored
/// (nohup, some session managers) left it spinning on a dead terminal.
enum StopRequest {
    /// The signal that asked to stop, or 0. A signal handler may only do async-signal-safe work:
    /// one atomic store.
    static let signal = Atomic<Int32>(0)

    static func install() {
        _ = signal.load(ordering: .relaxed) // initialise the global before a handler can touch it
        for number in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in StopRequest.signal.store(number, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
        // This thread reads the keys: let the signals interrupt its wait instead of only another thread's.
        var set = sigset_t()
        sigemptyset(&set)
        for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, number) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static var requested: Bool { signal.load(ordering: .relaxed) != 0 }

    /// True when the terminal on standard input has gone away (the pty closed under us).
    static func terminalHungUp() -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) >= 0 else { return false }
        return descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }
}
