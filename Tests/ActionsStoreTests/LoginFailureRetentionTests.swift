import Testing
import Foundation
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore
import ActionsTestSupport

/// login_failures grew forever and every policy reload read it whole: retention now takes the
/// counts that can lock no one, and a reload reads only the lockouts in force.
@Suite struct LoginFailureRetentionTests {
    @Test(arguments: StoreBackend.allCases) func idleCountsGoAndLockoutsStay(_ backend: StoreBackend) throws {
        let store = try Store(path: try backend.newDatabase())
        defer { store.close() }
        let now: Int64 = 1_800_000_000_000
        let policy = LockoutPolicy(threshold: 2, windowMs: 60_000, lockoutMs: 600_000)
        for n in 0..<50 { _ = try store.recordLoginFailure(email: "idle\(n)@example.com", userId: nil, ip: nil, policy: policy, nowMs: now - 7_200_000) }
        _ = try store.recordLoginFailure(email: "recent@example.com", userId: nil, ip: nil, policy: policy, nowMs: now - 1000)
        for _ in 0..<2 { _ = try store.recordLoginFailure(email: "locked@example.com", userId: nil, ip: nil, policy: policy, nowMs: now - 7_200_000 + 500_000) }
        _ = try store.recordLoginFailure(email: "locked-now@example.com", userId: nil, ip: nil, policy: policy, nowMs: now - 2000)
        _ = try store.recordLoginFailure(email: "locked-now@example.com", userId: nil, ip: nil, policy: policy, nowMs: now - 1000)
        #expect(try store.loginFailures(nowMs: now).map(\.email) == ["locked-now@example.com"], "a reload reads only lockouts in force")
        #expect(try store.pruneLoginFailures(idleMs: 3_600_000, nowMs: now) == 51, "50 idle counts and an expired lockout")
        let left = Set(try store.loginFailures(includeUnlocked: true, nowMs: now).map(\.email))
        #expect(left == ["recent@example.com", "locked-now@example.com"])
    }
}

/// Run as root, the tools made a root-owned `<log>-search` the service user could not open:
/// the index file now takes its log's owner, group and mode.
@Suite struct SearchFileOwnershipTests {
    @Test func theIndexFileTakesItsLogsOwnerAndMode() throws {
        let path = temporaryDatabasePath()
        _ = try Store(path: path, fileMode: 0o640)
        try FileManager.default.removeItem(atPath: SearchIndexFile.path(forLog: path))
        if getuid() == 0, let nobody = getpwnam("nobody") {
            #expect(chown(path, nobody.pointee.pw_uid, nobody.pointee.pw_gid) == 0)
        }
        _ = try Store(path: path)
        var log = stat(), index = stat()
        #expect(stat(path, &log) == 0 && stat(SearchIndexFile.path(forLog: path), &index) == 0)
        #expect(index.st_mode & 0o777 == 0o640)
        #expect(index.st_uid == log.st_uid && index.st_gid == log.st_gid)
    }
}

/// A symlink planted where the index file goes (the database's directory belongs to the service
/// user) never makes, or hands over, the file it points to.
@Suite struct SearchFileSymlinkTests {
    @Test func aPlantedSymlinkIsNotFollowed() throws {
        let path = temporaryDatabasePath()
        _ = try Store(path: path)
        let index = SearchIndexFile.path(forLog: path)
        try FileManager.default.removeItem(atPath: index)
        let target = path + "-planted-target"
        try FileManager.default.createSymbolicLink(atPath: index, withDestinationPath: target)
        _ = try Store(path: path) // the store opens; its index is unavailable, and searches scan
        #expect(!FileManager.default.fileExists(atPath: target), "the symlink's target was created")
    }
}
