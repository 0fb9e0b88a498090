import ArgumentParser

/// Exit statuses of `deps` and `check` (shared/DESIGN.md, command-line contract).
public enum ExitStatus {
    /// Everything was found.
    public static let clean: Int32 = 0
    /// Something is missing: a result, not an error.
    public static let problemsFound: Int32 = 1
    /// Bad usage, or an input that cannot be analysed.
    public static let cannotAnalyse: Int32 = 2
}
