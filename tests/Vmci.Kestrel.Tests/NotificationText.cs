using System.Linq;

namespace Vmci.Kestrel.Tests;

/// <summary>A notification's fields as one string the tests compare (<c>READY=1|STATUS=up</c>), without its sender.</summary>
internal static class NotificationText
{
    public static string Of(VmciNotification notification)
        => string.Join('|', notification.Fields.Select(f => $"{f.Key}={f.Value}"));
}
