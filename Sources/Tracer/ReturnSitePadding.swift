import ELF

/// Where an object has room for a return site inside its own executable mapping (the padding rule of
/// `ImageFacts.padding`), for engines other than this one: the in-process engine writes its return
/// trampoline there, so caller-sensitive functions still see the calling object.
public enum ReturnSitePadding {
    /// The file virtual address of the padding after the object's code, nil when the code ends on a page.
    public static func of(_ file: ELFFile) -> UInt64? { ImageFacts.padding(in: file.programHeaders) }
}
