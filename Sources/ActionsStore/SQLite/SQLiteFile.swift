import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How the log's files are made: who may read them is decided when they are created.
enum SQLiteFile {
    /// Creates an empty file with exactly `mode`: the umask must not widen or narrow what was
    /// asked for (the log and its search index hold emails and addresses).
    ///
    /// `like`: a file beside an existing one (the search index beside its log) takes that file's
    /// mode, owner and group: run as root, actionsctl once made a root-owned index the service
    /// user could not open. (SQLite does the same for its -wal and -shm files.)
    static func create(_ path: String, mode: mode_t, like sibling: String? = nil) throws(StoreError) {
        var model = stat()
        var copied = sibling.map { stat($0, &model) == 0 } ?? false
        // A directory shared with a group (the service's state directory: setgid, group rwx, no
        // access for others, 2770 actions:actions, which operators join): a new database is
        // readable and writable by the group too, and in its group, so `actions-top` and
        // `actionsctl` work for them without root, whoever made it. SQLite's -wal and -shm take
        // the directory's group from the setgid bit. Anywhere else (a world-writable /tmp
        // included) only its owner can read the log.
        var directory = stat()
        if !copied, stat(Self.directory(of: path), &directory) == 0, Self.isSharedWithGroup(directory) {
            model = directory
            model.st_mode = (mode | 0o060) & 0o770
            copied = true
        }
        // Made here or not at all: O_EXCL and O_NOFOLLOW, so that a symlink planted in the
        // database's directory (root running actionsctl) never makes or hands over another file.
        let fd = Glibc.open(path, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_CLOEXEC, copied ? model.st_mode & 0o777 : mode)
        guard fd >= 0 else {
            // Another process made it a moment ago: that file is the one to open.
            let failure = errno
            if failure == EEXIST, lstat(path, &model) == 0, model.st_mode & S_IFMT == S_IFREG { return }
            // Worded as the open's own refusal is, which is what tells a permission problem apart.
            let reason = failure == EACCES || failure == EPERM
                ? "permission denied: this user may not create it in \(Self.directory(of: path))" : String(cString: strerror(failure))
            throw .cannotOpen(path: path, reason: reason)
        }
        fchmod(fd, copied ? model.st_mode & 0o777 : mode)
        // Root hands the file to the model's owner and group; anyone else can give it the group
        // (as a member of it), so a file an operator made is still the service's to open.
        if copied { _ = geteuid() == 0 ? fchown(fd, model.st_uid, model.st_gid) : fchown(fd, uid_t.max, model.st_gid) }
        Glibc.close(fd)
    }

    /// Every file a SQLite log at `path` may have beside it: its WAL and shared memory, and its
    /// search index (`<log>-search`) with the index's own. Deleting a log means deleting all of
    /// them: an index left behind would describe rows a new log at that path does not have.
    static func all(ofLog path: String) -> [String] {
        let search = SearchIndexFile.path(forLog: path)
        return [path, path + "-wal", path + "-shm", search, search + "-wal", search + "-shm"]
    }

    static func directory(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// Setgid, its group may enter and write, others may not: a directory meant for a group.
    static func isSharedWithGroup(_ directory: stat) -> Bool {
        directory.st_mode & S_ISGID != 0 && directory.st_mode & 0o070 == 0o070 && directory.st_mode & 0o007 == 0
    }
}
