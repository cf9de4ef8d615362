using System;

namespace Vmci.Kestrel.Internal;

/// <summary>The defaults both ends' options share, each written once: Kestrel's socket transport's own.</summary>
internal static class VmciDefaults
{
    internal const long MaxReadBufferSize = 1024 * 1024;

    internal const long MaxWriteBufferSize = 64 * 1024;

    /// <summary>The processor count, capped at 16.</summary>
    internal static int IOQueueCount => Math.Min(Environment.ProcessorCount, 16);
}
