/// Runs `body` and cancels it when `timeout` passes first. Returns nil on timeout.
///
/// For exchanges whose own deadline covers only part of the work: AsyncHTTPClient's deadline
/// ends when the response head arrives, so an endpoint that sends headers and then stalls held a
/// decision until it closed the connection. `body` must honour cancellation (AsyncHTTPClient does).
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
    }
}
