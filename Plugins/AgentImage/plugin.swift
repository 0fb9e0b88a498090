import Foundation
import PackagePlugin

/// Builds the in-process agent with the system C compiler (a SwiftPM C target would link the Swift runtime
/// into it) and embeds its bytes in the InProcess module.
@main struct AgentImage: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let agent = context.package.directoryURL.appending(path: "Agent")
        let header = context.package.directoryURL.appending(path: "Sources/CAgent/include/linkscope_agent.h")
        let output = context.pluginWorkDirectoryURL.appending(path: "AgentImage.swift")
        return [.buildCommand(
            displayName: "Building the in-process agent",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [agent.appending(path: "embed.sh").path, output.path],
            inputFiles: ["agent.c", "stubs.S", "build.sh", "embed.sh"].map { agent.appending(path: $0) } + [header],
            outputFiles: [output])]
    }
}
