using System.Runtime.CompilerServices;
using Xunit;

namespace Vmci.Testing;

/// <summary>What a vsock test needs from the machine; its skip reason says how to run it for real.</summary>
internal enum VsockNeeds
{
    /// <summary>AF_VSOCK only: create, bind, listen, options; no connect.</summary>
    AfVsock,

    /// <summary>Connects to CID 1 (vsock_loopback).</summary>
    Loopback,

    /// <summary>Connects to CIDs that only the loopback-only sandbox VM guarantees reach nothing.</summary>
    Sandbox,
}

/// <summary>A fact that runs only where the machine offers what it <see cref="VsockNeeds"/>.</summary>
internal sealed class VsockFactAttribute : FactAttribute
{
    public VsockFactAttribute(VsockNeeds needs, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        Skip = VsockSkip.Reason(needs);
    }
}

/// <summary>A theory that runs only where the machine offers what it <see cref="VsockNeeds"/>.</summary>
internal sealed class VsockTheoryAttribute : TheoryAttribute
{
    public VsockTheoryAttribute(VsockNeeds needs, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        Skip = VsockSkip.Reason(needs);
    }
}

internal static class VsockSkip
{
    internal static string? Reason(VsockNeeds needs) => needs switch
    {
        VsockNeeds.AfVsock => VsockEnvironment.AfVsockSkipReason,
        VsockNeeds.Loopback => VsockEnvironment.AfVsockSkipReason ?? VsockEnvironment.LoopbackSkipReason,
        _ => VsockEnvironment.AfVsockSkipReason ?? VsockEnvironment.SandboxSkipReason,
    };
}
