using System;
using System.Linq;
using Vmci.Kestrel.Internal;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>The LISTEN_* environment of systemd socket activation, parsed as sd_listen_fds_with_names does (host only).</summary>
public sealed class SystemdListenFdsTests
{
    private const int Self = 4242;

    [Fact]
    public void NoVariables_NoSockets()
    {
        Assert.Empty(VmciSocketActivationEnvironment.Parse(null, null, null, Self));
        Assert.Empty(VmciSocketActivationEnvironment.Parse("4242", null, null, Self));
        Assert.Empty(VmciSocketActivationEnvironment.Parse(null, "2", null, Self));
    }

    [Fact]
    public void AnotherProcessesPid_NotOurs()
        => Assert.Empty(VmciSocketActivationEnvironment.Parse("4241", "2", "a:b", Self));

    [Fact]
    public void Names_FromListenFdNames_DescriptorsFrom3()
    {
        var listeners = VmciSocketActivationEnvironment.Parse("4242", "3", "web:grpc:admin", Self);
        Assert.Equal([3, 4, 5], listeners.Select(l => l.FileDescriptor));
        Assert.Equal(["web", "grpc", "admin"], listeners.Select(l => l.Name));
        Assert.Equal("fd 4 'grpc'", listeners[1].ToString());
    }

    [Fact]
    public void NoNames_Unknown_AsSystemdSays()
        => Assert.Equal(["unknown", "unknown"], VmciSocketActivationEnvironment.Parse("4242", "2", null, Self).Select(l => l.Name));

    [Fact]
    public void ZeroDescriptors_Empty()
        => Assert.Empty(VmciSocketActivationEnvironment.Parse("4242", "0", null, Self));

    [Theory]
    [InlineData("x", "1", null, "LISTEN_PID = 'x'")]
    [InlineData("0", "1", null, "LISTEN_PID = '0'")]
    [InlineData("-4242", "1", null, "LISTEN_PID = '-4242'")]
    [InlineData("4242", "one", null, "LISTEN_FDS = 'one'")]
    [InlineData("4242", "-1", null, "LISTEN_FDS = '-1'")]
    [InlineData("4242", "99999999999", null, "LISTEN_FDS = '99999999999'")]
    [InlineData("4242", "2", "web", "LISTEN_FDNAMES = 'web' has 1 names for LISTEN_FDS = 2")]
    [InlineData("4242", "1", "a:b", "LISTEN_FDNAMES = 'a:b' has 2 names for LISTEN_FDS = 1")]
    public void Malformed_FormatException_NamesTheVariable(string pid, string count, string? names, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => VmciSocketActivationEnvironment.Parse(pid, count, names, Self));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThisTestProcess_IsNotSocketActivated()
    {
        // The test runner was not started by systemd: nothing to serve, and UseVmci adds no endpoint.
        Assert.False(VmciSocketActivation.IsSocketActivated);
        Assert.Empty(VmciSocketActivation.VsockListeners);
    }
}
