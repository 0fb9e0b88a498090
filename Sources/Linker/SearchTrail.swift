/// Every file a failed search tried, in the loader's order, held compactly. A run of candidates that do
/// not exist under one search-path list is that list's directories, the subdirectories tried under each
/// and the name — arrays shared with every other search of the same object — and a range of positions,
/// not a path per candidate: 1,000 missing NEEDED through a 1,000-directory RPATH were 11 million
/// `Candidate` values (2.3 GB); now memory grows with what existed and with the lists themselves.
///
/// A collection of `Candidate`, each made when it is read (`tried` in JSON reads them all). `refused`
/// (existing files the search skipped or stopped at) and `rules` cost nothing to ask.
public struct SearchTrail: RandomAccessCollection, Hashable, Sendable {
    /// `name` in each of `directories`, under each of `subdirectories` ("" for the directory itself), in
    /// that order: position `d * subdirectories.count + s`.
    struct Grid: Hashable, Sendable {
        var directories: [String]
        var subdirectories: [String]
        var name: String
        var rule: SearchRule

        func candidate(at position: Int) -> Candidate {
            let directory = directories[position / subdirectories.count]
            let sub = subdirectories[position % subdirectories.count]
            let base = sub.isEmpty ? directory : LoaderPath.join(directory, sub)
            return Candidate(path: LoaderPath.join(base, name), rule: rule, rejection: .missing, directory: directory)
        }
    }

    enum Piece: Hashable, Sendable {
        /// Positions `range` of `grids[grid]`, none of which exists.
        case misses(grid: Int, range: Range<Int>)
        case candidate(Candidate)

        var count: Int {
            switch self {
            case .misses(_, let range): return range.count
            case .candidate: return 1
            }
        }
    }

    private var grids: [Grid] = []
    private var pieces: [Piece] = []
    /// Where each piece starts in the collection.
    private var starts: [Int] = []
    public private(set) var endIndex = 0
    /// The candidates that existed and were refused (another class or machine, not ELF, unreadable), each
    /// path once.
    public private(set) var refused: [Candidate] = []

    public var startIndex: Int { 0 }

    /// How many runs and single candidates make up the trail (what memory it takes, for tests).
    var pieceCount: Int { pieces.count }

    public init() {}

    public init(_ candidates: [Candidate]) {
        for candidate in candidates { append(candidate) }
    }

    public subscript(position: Int) -> Candidate {
        precondition(position >= 0 && position < endIndex, "SearchTrail index out of range")
        // The last piece starting at or before `position`.
        var low = 0, high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= position { low = middle } else { high = middle - 1 }
        }
        switch pieces[low] {
        case .candidate(let candidate): return candidate
        case .misses(let grid, let range): return grids[grid].candidate(at: range.lowerBound + position - starts[low])
        }
    }

    /// The rules that contributed candidates, each once, in the order they were first tried.
    public var rules: [SearchRule] {
        var seen: [SearchRule] = []
        for piece in pieces {
            let rule = switch piece {
            case .candidate(let candidate): candidate.rule
            case .misses(let grid, _): grids[grid].rule
            }
            if !seen.contains(rule) { seen.append(rule) }
        }
        return seen
    }

    /// Each candidate's search-path directory and rule, in order, without making its path; `candidate`
    /// is the value itself for files named directly and for those that existed.
    func forEachTried(_ body: (_ directory: String, _ rule: SearchRule, _ explicit: Candidate?) -> Void) {
        for piece in pieces {
            switch piece {
            case .candidate(let candidate): body(candidate.directory, candidate.rule, candidate)
            case .misses(let index, let range):
                let grid = grids[index]
                for position in range { body(grid.directories[position / grid.subdirectories.count], grid.rule, nil) }
            }
        }
    }

    mutating func append(_ candidate: Candidate) {
        starts.append(endIndex)
        pieces.append(.candidate(candidate))
        endIndex += 1
        // glibc tries `tls/x86_64` twice (legacy hwcap and platform are both `x86_64`): `tried` keeps both, as
        // LD_DEBUG=libs shows them; a refused file is named once.
        if candidate.rejection != .missing, refused.last?.path != candidate.path { refused.append(candidate) }
    }

    /// Starts a sweep of `directories` × `subdirectories` for `name`; returns its number for `appendMiss`.
    mutating func addGrid(directories: [String], subdirectories: [String], name: String, rule: SearchRule) -> Int {
        grids.append(Grid(directories: directories, subdirectories: subdirectories, name: name, rule: rule))
        return grids.count - 1
    }

    /// Position `position` of grid `grid` was tried and does not exist.
    mutating func appendMiss(grid: Int, at position: Int) {
        appendMisses(grid: grid, positions: position..<(position + 1))
    }

    /// Positions `positions` of grid `grid` were tried and none exists.
    mutating func appendMisses(grid: Int, positions: Range<Int>) {
        guard !positions.isEmpty else { return }
        if case .misses(let last, let range)? = pieces.last, last == grid, range.upperBound == positions.lowerBound {
            pieces[pieces.count - 1] = .misses(grid: grid, range: range.lowerBound..<positions.upperBound)
        } else {
            starts.append(endIndex)
            pieces.append(.misses(grid: grid, range: positions))
        }
        endIndex += positions.count
    }

    /// Position `position` of grid `grid` existed and was refused for `rejection`.
    mutating func append(grid: Int, at position: Int, rejection: Rejection) {
        var candidate = grids[grid].candidate(at: position)
        candidate.rejection = rejection
        append(candidate)
    }
}
