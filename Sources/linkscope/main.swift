import LinkscopeCLI

// The commands live in LinkscopeCLI so tests can drive them; this file only starts them.
LinkscopeCommand.runMain()
