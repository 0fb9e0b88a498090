/// Libraries a container runtime mounts into a container when it starts, so an image is not failed for
/// a need the host will meet (`--runtime nvidia`). A name matches its entry exactly or with a version
/// suffix (`libcuda.so` matches `libcuda.so.1`), as the runtime picks the host's `NAME.so.*` files.
public struct RuntimeProfile: Hashable, Sendable {
    public var name: String
    public var libraries: [String]

    public init(name: String, libraries: [String]) {
        self.name = name
        self.libraries = libraries
    }

    /// The NVIDIA container toolkit (libnvidia-container 1.17's `src/nvc_info.c` lists, which the toolkit's
    /// CDI mode mirrors): utility, compute, video, graphics and GLVND ICD libraries and NGX, as
    /// `--gpus all` / `NVIDIA_DRIVER_CAPABILITIES=all` mounts them from the host.
    public static let nvidia = RuntimeProfile(name: "nvidia", libraries: [
        // utility
        "libnvidia-ml.so", "libnvidia-cfg.so", "libnvidia-nscq.so",
        // compute
        "libcuda.so", "libcudadebugger.so", "libnvidia-opencl.so", "libnvidia-gpucomp.so", "libnvidia-ptxjitcompiler.so",
        "libnvidia-fatbinaryloader.so", "libnvidia-allocator.so", "libnvidia-compiler.so", "libnvidia-nvvm.so",
        "libnvidia-pkcs11.so", "libnvidia-pkcs11-openssl3.so",
        // video
        "libvdpau_nvidia.so", "libnvidia-encode.so", "libnvidia-opticalflow.so", "libnvcuvid.so",
        // graphics
        "libnvidia-eglcore.so", "libnvidia-glcore.so", "libnvidia-tls.so", "libnvidia-glsi.so", "libnvidia-fbc.so",
        "libnvidia-ifr.so", "libnvidia-rtcore.so", "libnvoptix.so",
        // graphics, GLVND ICDs
        "libGLX_nvidia.so", "libEGL_nvidia.so", "libGLESv2_nvidia.so", "libGLESv1_CM_nvidia.so",
        "libnvidia-glvkspirv.so", "libnvidia-cbl.so",
        // ngx
        "libnvidia-ngx.so",
    ])

    public static let all: [RuntimeProfile] = [.nvidia]

    public static func named(_ name: String) -> RuntimeProfile? { all.first { $0.name == name } }

    /// Whether `needed` (a DT_NEEDED name) is one of `libraries`.
    static func matches(_ needed: String, _ libraries: [String]) -> Bool {
        let name = needed.split(separator: "/").last.map(String.init) ?? needed
        return libraries.contains { name == $0 || name.hasPrefix($0 + ".") }
    }
}
