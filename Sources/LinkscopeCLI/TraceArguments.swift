/// ltrace's command-line habits on top of swift-argument-parser (issue 10). ltrace and strace parse with
/// `getopt_long("+…")`: options end at the first operand, so `ltrace -e strlen ls -l` passes `-l` to ls;
/// a short option's value may be attached (`-s8`, `-ofile`, `-emalloc`) or be the next word even when it
/// starts with `-` (`-e -malloc`); flags bundle (`-fc`, `-tt`). ArgumentParser knows none of that, so the
/// words after `trace` are rewritten into its shapes before it parses them: values detached, bundles split,
/// and `--` put before the first operand. What it then sees is unambiguous; errors stay its own.
public enum TraceArguments {
    /// Short options that take a value, by letter. The one home of this fact: `TraceHelpTests` checks it
    /// against the options `trace --help` lists, so a new option cannot be forgotten here.
    public static let shortOptionsWithValue: Set<Character> = ["e", "l", "x", "o", "s", "A", "n", "p", "F", "a", "u"]
    /// Short flags (no value).
    public static let shortFlags: Set<Character> = ["c", "t", "r", "T", "i", "C", "f", "L", "b", "V", "h", "S"]
    /// Long options that take a value (as `--name VALUE` or `--name=VALUE`).
    public static let longOptionsWithValue: Set<String> = [
        "output", "library", "indent", "align", "config", "duration", "engine",
    ]

    /// The words after `trace`, rewritten for ArgumentParser (see the type's comment).
    public static func normalise(_ words: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" {
                result.append(contentsOf: words[(index - 1)...])
                return result
            }
            if word.hasPrefix("--") {
                result.append(word)
                // `--output FILE`: the next word is the value whatever it looks like, as getopt_long takes it.
                let name = String(word.dropFirst(2))
                if longOptionsWithValue.contains(name), index < words.count {
                    result.append(words[index])
                    index += 1
                }
                continue
            }
            guard word.hasPrefix("-"), word.count > 1 else {
                // The first operand (a lone `-` is one too, as for getopt): the command and its own arguments.
                result.append("--")
                result.append(contentsOf: words[(index - 1)...])
                return result
            }
            var letters = Substring(word.dropFirst())
            while let letter = letters.first {
                letters = letters.dropFirst()
                if shortOptionsWithValue.contains(letter) {
                    result.append("-" + String(letter))
                    if !letters.isEmpty {
                        result.append(String(letters))
                    } else if index < words.count {
                        result.append(words[index])
                        index += 1
                    }
                    break
                }
                // A flag, or a letter ArgumentParser will report as unknown.
                result.append("-" + String(letter))
                if !shortFlags.contains(letter) {
                    // Unknown: hand the rest over unsplit, so the error names what the user typed.
                    if !letters.isEmpty { result[result.count - 1] = word }
                    break
                }
            }
        }
        return result
    }
}
