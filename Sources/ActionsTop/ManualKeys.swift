import ActionsProtocol

extension KeyBindings {
    /// The man page's KEYS section, from the same table as `?` and the footer: grouped by
    /// screen, each binding's keys and help (the defaults; a key file can change them).
    package func manualKeysSection() -> String {
        var scopes: [Binding.Scope] = []
        for binding in table where !scopes.contains(binding.scope) { scopes.append(binding.scope) }
        var text = ".Sh KEYS\nThe defaults; a key file (see FILES) rebinds them, and ? shows those in effect.\n"
        for scope in scopes {
            let bindings = table.filter { $0.scope == scope && !$0.keys.isEmpty }
            guard !bindings.isEmpty else { continue }
            let title = scope == .global ? "Anywhere" : "On the \(scope.rawValue) screen"
            text += ManualSections.section(title, bindings.map { ($0.keyLabel, $0.help) }, tag: .literal)
                .replacingOccurrences(of: ".Sh \(title)", with: ".Ss \(title)")
        }
        return text
    }
}

/// actions-top's ENVIRONMENT, FILES and KEYS.
package enum TopManual {
    package static var sections: String {
        ManualSections.section("ENVIRONMENT", ManualSections.databaseEnvironment + [
            ("ACTIONS_TOP_MOUSE", "1 (or on, true, yes) turns the mouse on, as --mouse does."),
            ("ACTIONS_TOP_THEMES", "A directory of themes searched before the installed ones."),
            ("ACTIONS_TOP_CLIPBOARD", "file: y writes the event to a file instead of the terminal's clipboard (OSC 52)."),
            ("NO_COLOR", "Set and not empty: no colours, whatever the theme."),
            ("XDG_CONFIG_HOME", "Where the key file and the user's themes are (default ~/.config)."),
            ("TERM", "The terminal's capabilities; y copies through OSC 52 where the terminal takes it."),
            ("TMUX", "Inside tmux, y checks that set-clipboard is on and says so when it is not."),
        ], tag: .environment)
        + ManualSections.section("FILES", ManualSections.databaseFiles + [
            ("$XDG_CONFIG_HOME/actions-top/keys", "Key bindings: lines of bind KEY COMMAND or unbind KEY (F1 to F12 included); # starts a comment."),
            ("$XDG_CONFIG_HOME/actions-top/themes/NAME.theme", "The user's own themes, found first."),
            ("PREFIX/share/actions-top/themes/", "The installed themes, beside the installed binary (PREFIX/bin/actions-top)."),
            ("/usr/share/actions-top/themes/", "Themes a package installed."),
        ], tag: .path)
        + KeyBindings.standard.manualKeysSection()
    }
}
