using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vmci.Kestrel;
using Vmci.Native;

namespace Vmci.Benchmarks.Transport;

/// <summary>
/// A request-sized message out and back over one connection, with an echo server on the transport's pipes.
/// MemoryDiagnoser counts what the whole process allocates per round trip: the transport's pipes and socket
/// operations on both ends, and nothing else: the echo loop and the client loop allocate nothing themselves.
/// </summary>
[MemoryDiagnoser]
public class RoundTripBenchmarks
{
    private IConnectionListener? _listener;
    private ConnectionContext? _server;
    private ConnectionContext? _client;
    private Task? _echo;
    private byte[] _message = [];
    private string? _unixPath;
    private VmciConnectionFactory? _vsockClients;
    private SocketConnectionContextFactory? _socketClients;
    private IHost? _vsockHost;

    /// <summary>vsock is this project's transport; tcp and unix are Kestrel's own, on the same machine.</summary>
    [Params("vsock", "tcp", "unix")]
    public string Transport { get; set; } = "vsock";

    /// <summary>128 bytes is the size of a small HTTP request; 16 KiB spans several pipe segments.</summary>
    [Params(128, 16384)]
    public int MessageSize { get; set; } = 128;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    /// <summary>
    /// The client is the transport's own client (VmciConnectionFactory for vsock; Kestrel's socket pipes for the
    /// others), so both ends are counted. (A blocking Socket as the client would count .NET's sync-over-async
    /// emulation on an already non-blocking socket, about 190 bytes per call, which is no transport's cost.)
    /// </summary>
    [Benchmark]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask PipeClient()
    {
        await _client!.Transport.Output.WriteAsync(_message);
        PipeReader input = _client.Transport.Input;
        long received = 0;
        while (received < _message.Length)
        {
            ReadResult result = await input.ReadAsync();
            received += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _message = new byte[MessageSize];
        new Random(42).NextBytes(_message);
        (IConnectionListenerFactory serverFactory, EndPoint bindTo) = Transport switch
        {
            "vsock" => (VsockListenerFactory(), (EndPoint)new VmciEndPoint(VmciCid.Any, VmciPort.Any)),
            "tcp" => (new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance), new IPEndPoint(IPAddress.Loopback, 0)),
            "unix" => (new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance), new UnixDomainSocketEndPoint(_unixPath = Path.Combine(Path.GetTempPath(), $"vmci-bdn-{Environment.ProcessId}.sock"))),
            _ => throw new ArgumentException($"unknown transport '{Transport}'"),
        };
        if (Transport == "vsock" && !Directory.Exists("/sys/module/vsock_loopback"))
        {
            throw new InvalidOperationException("vsock needs the vsock_loopback module to connect to this machine; benchmarks/run starts the sandbox VM that has it.");
        }

        _listener = await serverFactory.BindAsync(bindTo);
        // The listener reports the port it got; a vsock client reaches it through CID 1 (this machine).
        EndPoint connectTo = _listener.EndPoint is VmciEndPoint bound ? new VmciEndPoint(VmciCid.Local, bound.Port) : _listener.EndPoint;
        ValueTask<ConnectionContext?> accept = _listener.AcceptAsync();
        if (Transport == "vsock")
        {
            _vsockClients = new VmciConnectionFactory();
            _client = await _vsockClients.ConnectAsync(connectTo);
        }
        else
        {
            // Kestrel's own client factory for sockets is internal; this is what it does with a connected socket.
            _socketClients = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), NullLogger.Instance);
            _client = _socketClients.Create(await ConnectSocketAsync(connectTo));
        }

        _server = await accept ?? throw new InvalidOperationException("the listener stopped before the client connected");
        _echo = EchoAsync(_server);
    }

    private static async Task<Socket> ConnectSocketAsync(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint is IPEndPoint ? ProtocolType.Tcp : ProtocolType.Unspecified);
        if (endPoint is IPEndPoint)
        {
            socket.NoDelay = true;
        }

        await socket.ConnectAsync(endPoint);
        return socket;
    }

    /// <summary>Sends back whatever arrives, until the client closes.</summary>
    private static async Task EchoAsync(ConnectionContext connection)
    {
        PipeReader input = connection.Transport.Input;
        PipeWriter output = connection.Transport.Output;
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                output.Write(segment.Span);
            }

            input.AdvanceTo(buffer.End);
            if (!buffer.IsEmpty)
            {
                await output.FlushAsync();
            }

            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>The vsock transport's listener factory as an app gets it: what <c>UseVmci</c> registers beside Kestrel's own.</summary>
    private IConnectionListenerFactory VsockListenerFactory()
    {
        _vsockHost = new HostBuilder().ConfigureWebHost(web => web.UseVmci().Configure(static _ => { })).Build();
        var any = new VmciEndPoint(VmciCid.Any, VmciPort.Any);
        return _vsockHost.Services.GetServices<IConnectionListenerFactory>().First(f => f is IConnectionListenerFactorySelector selector && selector.CanBind(any));
    }

    private async Task CleanupAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_echo is not null)
        {
            await _echo;
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        _vsockClients?.Dispose();
        _socketClients?.Dispose();
        _vsockHost?.Dispose();
        if (_unixPath is not null)
        {
            File.Delete(_unixPath);
        }
    }
}
