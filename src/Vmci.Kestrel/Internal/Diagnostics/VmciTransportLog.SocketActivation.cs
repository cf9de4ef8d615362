using Microsoft.Extensions.Logging;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

internal static partial class VmciTransportLog
{
    [LoggerMessage(20, LogLevel.Information, "Listening on {EndPoint} (vsock, inherited descriptor {FileDescriptor} named '{Name}').", EventName = "ListeningInherited")]
    public static partial void ListeningInherited(ILogger logger, VmciEndPoint endPoint, int fileDescriptor, string name);

    [LoggerMessage(21, LogLevel.Debug, "Descriptor {FileDescriptor} ({EndPoint}) is listed twice (UseSystemd() lists every inherited socket, UseVmci() the vsock ones): it is served once.", EventName = "InheritedListedTwice")]
    public static partial void InheritedListedTwice(ILogger logger, int fileDescriptor, VmciEndPoint endPoint);
}
