using System;
using System.Net.Sockets;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[Trait("Category", "Vsock")]
public sealed class BindTests
{
    [VsockFact(VsockNeeds.AfVsock)]
    public void PortAny_BindsAnEphemeralPort_AndLocalEndPointShowsIt()
    {
        using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));

        var local = Assert.IsType<VmciEndPoint>(listener.LocalEndPoint);
        Assert.Equal(VmciCid.Any, local.Cid);
        Assert.NotEqual(VmciPort.Any, local.Port);
        Assert.True(local.Port >= VmciPort.FirstUnprivileged, $"ephemeral port {local.Port}");
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void SamePortTwice_IsAddressInUse_WithTheFix()
    {
        using Socket first = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        var taken = new VmciEndPoint(VmciCid.Any, ((VmciEndPoint)first.LocalEndPoint!).Port);

        var ex = Assert.Throws<VmciSocketException>(() => VmciSocket.Listen(taken));

        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
        Assert.Equal(taken, ex.EndPoint);
        Assert.StartsWith($"Binding {taken} failed: another socket is already bound to port {taken.Port}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'any'", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void AForeignCid_IsAddressNotAvailable()
    {
        var foreign = new VmciEndPoint(VmciPlatform.GetLocalCid() + 1000, VmciPort.Any);

        var ex = Assert.Throws<VmciSocketException>(() => VmciSocket.Listen(foreign));

        Assert.Equal(SocketError.AddressNotAvailable, ex.SocketErrorCode);
        Assert.Contains("is not a CID of this machine", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void BindingTwice_SaysTheSocketIsAlreadyBound()
    {
        using Socket socket = VmciSocket.Create();
        VmciSocket.Bind(socket, new VmciEndPoint(VmciCid.Any, VmciPort.Any));

        var ex = Assert.Throws<VmciSocketException>(() => VmciSocket.Bind(socket, new VmciEndPoint(VmciCid.Any, VmciPort.Any)));

        Assert.Equal(SocketError.InvalidArgument, ex.SocketErrorCode);
        Assert.Contains("already bound", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void PrivilegedPort_WithoutTheCapability_NamesIt()
    {
        // As root, on a thread that has given up CAP_NET_BIND_SERVICE; as anyone else, as they are.
        VmciSocketException? failure = VsockEnvironment.IsRoot
            ? ThreadCapabilities.RunWithout(ThreadCapabilities.NetBindService, () => TryListen("vsock://any:80"))
            : TryListen("vsock://any:80");

        Assert.NotNull(failure);
        Assert.Equal(SocketError.AccessDenied, failure.SocketErrorCode);
        Assert.StartsWith("Binding vsock://any:80 failed: port 80 is below 1024", failure.Message, StringComparison.Ordinal);
        Assert.Contains("(EACCES, errno 13)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("CAP_NET_BIND_SERVICE", failure.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void PrivilegedPort_WithTheCapability_Binds()
    {
        Assert.SkipUnless(VsockEnvironment.IsRoot, "binding a port below 1024 needs root or CAP_NET_BIND_SERVICE");

        using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, 81));

        Assert.Equal(81u, ((VmciEndPoint)listener.LocalEndPoint!).Port);
    }

    private static VmciSocketException? TryListen(string endPoint)
    {
        try
        {
            VmciSocket.Listen(VmciEndPoint.Parse(endPoint)).Dispose();
            return null;
        }
        catch (VmciSocketException ex)
        {
            return ex;
        }
    }
}
