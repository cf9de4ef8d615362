using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Xunit;
using Xunit.v3;

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

/// <summary>
/// A fact that runs only where the machine offers what it <see cref="VsockNeeds"/>. It carries the trait
/// Category=Vsock itself, so eng/test always runs it inside the sandbox VM: a vsock test cannot be skipped
/// on the host and filtered out of the VM run because its class forgot the trait.
/// </summary>
internal sealed class VsockFactAttribute : FactAttribute, ITraitAttribute
{
    public VsockFactAttribute(VsockNeeds needs, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        Skip = VsockSkip.Reason(needs);
    }

    public IReadOnlyCollection<KeyValuePair<string, string>> GetTraits() => VsockSkip.Traits;
}

/// <summary>A theory that runs only where the machine offers what it <see cref="VsockNeeds"/>; Category=Vsock like <see cref="VsockFactAttribute"/>.</summary>
internal sealed class VsockTheoryAttribute : TheoryAttribute, ITraitAttribute
{
    public VsockTheoryAttribute(VsockNeeds needs, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        Skip = VsockSkip.Reason(needs);
    }

    public IReadOnlyCollection<KeyValuePair<string, string>> GetTraits() => VsockSkip.Traits;
}

internal static class VsockSkip
{
    internal const string Category = "Vsock";

    internal static readonly IReadOnlyCollection<KeyValuePair<string, string>> Traits = [new("Category", Category)];

    internal static string? Reason(VsockNeeds needs) => needs switch
    {
        VsockNeeds.AfVsock => VsockEnvironment.AfVsockSkipReason,
        VsockNeeds.Loopback => VsockEnvironment.AfVsockSkipReason ?? VsockEnvironment.LoopbackSkipReason,
        _ => VsockEnvironment.AfVsockSkipReason ?? VsockEnvironment.SandboxSkipReason,
    };
}
