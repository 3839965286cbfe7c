#if canImport(Glibc)
    import Glibc
#endif
import XOShareCore

// The executable only hands its arguments to the library and exits with what it says.
exit(CommandLineTool.run(arguments: Array(CommandLine.arguments.dropFirst())))
