import CProcessMemory
import XOShareCore

#if canImport(Glibc)
    import Glibc
#endif

// One malloc arena for all threads. glibc gives each thread that allocates an
// arena of its own, and the export's reading, merging and compressing threads
// pass 1 MiB buffers between them: with an arena per thread the peak memory of
// a 5M-row export was 56 MiB instead of 42 (see BENCHMARKS.md). The threads
// allocate little once started, so sharing one arena costs no measurable time.
_ = xo_use_one_malloc_arena()

// The executable only hands its arguments to the library and exits with what it says.
exit(CommandLineTool.run(arguments: Array(CommandLine.arguments.dropFirst())))
