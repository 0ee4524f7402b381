import ActionsProtocol

/// What a rate window needs of a logged decision, and nothing more: rebuilding the windows reads
/// up to two million of these at start, and every node reads the others' each second.
package struct LoggedAttempt: Sendable {
    package var id: Int64
    package var timeMs: Int64
    package var actionType: ActionType
    package var email: String?
    package var ip: String?
    package var node: String?

    package init(id: Int64, timeMs: Int64, actionType: ActionType, email: String?, ip: String?, node: String?) {
        self.id = id
        self.timeMs = timeMs
        self.actionType = actionType
        self.email = email
        self.ip = ip
        self.node = node
    }
}
