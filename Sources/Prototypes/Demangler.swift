import Glibc

/// `-C`: C++ symbol names demangled with the C++ runtime's own `__cxa_demangle` (the Itanium ABI demangler,
/// the one c++filt and ltrace use). It is looked up with dlsym rather than declared in a C shim: the Swift
/// runtime already loads libstdc++ on Linux, and when it is absent names are simply left as they are.
public enum Demangler {
    private typealias DemangleFunction = @convention(c) (
        UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?
    ) -> UnsafeMutablePointer<CChar>?

    private static let function: DemangleFunction? = {
        var symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__cxa_demangle")  // RTLD_DEFAULT
        if symbol == nil, let handle = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL) {
            symbol = dlsym(handle, "__cxa_demangle")
        }
        return symbol.map { unsafeBitCast($0, to: DemangleFunction.self) }
    }()

    /// The demangled name, or `name` itself when it is not a mangled C++ name.
    public static func demangle(_ name: String) -> String {
        guard name.hasPrefix("_Z"), let function else { return name }
        var status: Int32 = 0
        guard let result = name.withCString({ function($0, nil, nil, &status) }) else { return name }
        defer { free(result) }
        return status == 0 ? String(cString: result) : name
    }
}
