import ActionsProtocol
import ActionsDomain
import ActionsStore

extension Renderer {
    /// Who is attacking now: each group's rows with counts and trends; the selected row is what
    /// Enter filters to and `a` / `s` deny.
    func drawAttacks(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        let offenders = state.offenders
        let source = "\(offenders.denied) denied, \(offenders.failed) failed" + (offenders.capped ? " (the newest \(DashboardController.topLoadLimit / 1000)k of each)" : "")
        grid.fill(x: 0, y: top, width: grid.width, role: .header)
        grid.put(" Who is attacking · \(state.stats.window.label) window · \(source) · trend: second half against first",
                 x: 0, y: top, role: .header)
        var lines: [(text: String, role: Role, row: Int?)] = []
        var index = 0
        let countWidth = max(5, String(state.topRows.map(\.count).max() ?? 0).count)
        for group in TopOffenders.Group.allCases {
            lines.append((" " + group.title, .label, nil))
            let rows = offenders.rows[group] ?? []
            if rows.isEmpty { lines.append(("   none in the window", .dim, nil)) }
            for row in rows {
                let trend: String
                switch row.trend {
                case .rising: trend = arrow(up: true)
                case .steady: trend = asciiOnly ? "-" : "→"
                case .falling: trend = arrow(up: false)
                }
                let role: Role = group == .failures ? .warning : (row.trend == .rising ? .deny : .normal)
                lines.append(("   " + DisplayWidth.fit(String(row.count), to: countWidth, alignRight: true) + " " + trend + "  "
                              + TerminalText.escape(row.key), role, index))
                index += 1
            }
        }
        let visible = max(1, height - 1)
        let selectedLine = lines.firstIndex { $0.row == state.topSelected } ?? 0
        let first = max(0, min(selectedLine - visible / 2, lines.count - visible))
        for (offset, line) in lines.dropFirst(first).prefix(visible).enumerated() {
            let y = top + 1 + offset
            grid.put(line.text, x: 0, y: y, role: line.role, maxWidth: grid.width)
            if let row = line.row, row == state.topSelected { grid.restyle(x: 0, y: y, width: grid.width, role: .selected) }
        }
    }
}
