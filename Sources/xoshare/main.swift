import XOShareCore

#if canImport(Glibc)
    import Glibc
#endif

// The executable only hands its arguments to the library and exits with what it says.
exit(CommandLineTool.run(arguments: Array(CommandLine.arguments.dropFirst())))
