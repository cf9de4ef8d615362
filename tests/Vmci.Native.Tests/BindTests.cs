using System;
using System.Diagnostics;
using System.IO;
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
        var foreign = new VmciEndPoint(VmciSockets.GetLocalCid() + 1000, VmciPort.Any);

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
    public void PrivilegedPort_AsAnUnprivilegedUser_NamesTheCapability()
    {
        // Another process, as user nobody (setpriv), because capabilities belong to the process.
        (int exitCode, string output) = VsockEnvironment.IsRoot
            ? RunPeerAsNobody("bind", "vsock://any:80")
            : RunPeer("bind", "vsock://any:80");

        Assert.True(exitCode == 2, $"the peer should have failed to bind; exit {exitCode}: {output}");
        Assert.StartsWith("AccessDenied: Binding vsock://any:80 failed: port 80 is below 1024", output, StringComparison.Ordinal);
        Assert.Contains("CAP_NET_BIND_SERVICE", output, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void PrivilegedPort_WithTheCapability_Binds()
    {
        Assert.SkipUnless(VsockEnvironment.IsRoot, "binding a port below 1024 needs root or CAP_NET_BIND_SERVICE");

        using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, 81));

        Assert.Equal(81u, ((VmciEndPoint)listener.LocalEndPoint!).Port);
    }

    private static (int ExitCode, string Output) RunPeerAsNobody(params string[] args)
    {
        Assert.SkipUnless(File.Exists("/usr/bin/setpriv"), "setpriv (util-linux) is needed to drop to user nobody");
        return Run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", DotnetHost(), PeerPath(), .. args]);
    }

    private static (int ExitCode, string Output) RunPeer(params string[] args) => Run(DotnetHost(), [PeerPath(), .. args]);

    private static string PeerPath() => Path.Combine(AppContext.BaseDirectory, "Vmci.TestPeer.dll");

    private static string DotnetHost() => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    private static (int ExitCode, string Output) Run(string fileName, string[] args)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        // User nobody cannot write the caller's home; the peer needs no first-run experience anyway.
        start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        start.Environment["HOME"] = Path.GetTempPath();
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
