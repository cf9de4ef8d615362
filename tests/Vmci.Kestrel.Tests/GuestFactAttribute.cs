using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Xunit;
using Xunit.v3;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// A fact that needs real guests (CIDs 3 and 4, their own kernels) beside the sandbox VM: it carries the trait
/// Category=Guest, which eng/test runs in one eng/vsock-guests pass that boots the guests once for all of them.
/// </summary>
internal sealed class GuestFactAttribute : FactAttribute, ITraitAttribute
{
    private static readonly IReadOnlyCollection<KeyValuePair<string, string>> s_traits = [new("Category", Guests.Category)];

    public GuestFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        Skip = Guests.SkipReason;
    }

    public IReadOnlyCollection<KeyValuePair<string, string>> GetTraits() => s_traits;
}
