using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Kestrel.Tests.Grpc;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>gRPC over vsock both ways: a Grpc.AspNetCore server on the vsock transport, a Grpc.Net.Client channel over the vsock handler.</summary>
[Trait("Category", "Vsock")]
public sealed class GrpcTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task AllFourKindsOfCall_Work()
    {
        await using VsockServer server = await StartEchoServerAsync();
        using GrpcChannel channel = ChannelTo(server);
        var client = new Echo.EchoClient(channel);

        EchoReply unary = await client.UnaryAsync(new EchoRequest { Text = "hi" }, cancellationToken: Ct);

        using AsyncServerStreamingCall<EchoReply> serverStream = client.ServerStream(new EchoRequest { Text = "s", Count = 5 }, cancellationToken: Ct);
        string[] streamed = await serverStream.ResponseStream.ReadAllAsync(Ct).Select(r => r.Text).ToArrayAsync(Ct);

        using AsyncClientStreamingCall<EchoRequest, EchoReply> clientStream = client.ClientStream(cancellationToken: Ct);
        foreach (string part in new[] { "a", "b", "c" })
        {
            await clientStream.RequestStream.WriteAsync(new EchoRequest { Text = part }, Ct);
        }

        await clientStream.RequestStream.CompleteAsync();
        EchoReply joined = await clientStream;

        using AsyncDuplexStreamingCall<EchoRequest, EchoReply> duplex = client.Duplex(cancellationToken: Ct);
        var echoes = new System.Collections.Generic.List<string>();
        for (int i = 0; i < 3; i++)
        {
            await duplex.RequestStream.WriteAsync(new EchoRequest { Text = $"ping {i}" }, Ct);
            Assert.True(await duplex.ResponseStream.MoveNext(Ct));
            echoes.Add(duplex.ResponseStream.Current.Text);
        }

        await duplex.RequestStream.CompleteAsync();
        Assert.False(await duplex.ResponseStream.MoveNext(Ct));

        Assert.Equal("hi", unary.Text);
        Assert.Equal(1u, unary.PeerCid);
        Assert.Equal(["s 0", "s 1", "s 2", "s 3", "s 4"], streamed);
        Assert.Equal("abc", joined.Text);
        Assert.Equal(["pong 0", "pong 1", "pong 2"], echoes);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ServerErrors_ArriveAsRpcStatus()
    {
        await using VsockServer server = await StartEchoServerAsync();
        using GrpcChannel channel = ChannelTo(server);
        var client = new Echo.EchoClient(channel);

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(new EchoRequest { Text = "fail" }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("asked to fail", ex.Status.Detail);
    }

    private static Task<VsockServer> StartEchoServerAsync() => VsockServer.StartAsync(
        app => app.MapGrpcService<EchoService>(),
        listen: l => l.Protocols = HttpProtocols.Http2,
        configure: b => b.Services.AddGrpc());

    private static GrpcChannel ChannelTo(VsockServer server)
    {
        VsockGuard.EnsureMayConnect(server.Target);
        return GrpcChannel.ForAddress("http://echo.vsock", new GrpcChannelOptions { HttpHandler = VmciHttp.CreateHandler(server.Target) });
    }
}

internal sealed class EchoService : Echo.EchoBase
{
    public override Task<EchoReply> Unary(EchoRequest request, ServerCallContext context)
    {
        if (request.Text == "fail")
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "asked to fail"));
        }

        return Task.FromResult(new EchoReply { Text = request.Text, PeerCid = context.GetHttpContext().GetVmciConnection()!.PeerCid });
    }

    public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        for (int i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(new EchoReply { Text = $"{request.Text} {i}" }, context.CancellationToken);
        }
    }

    public override async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        var text = new System.Text.StringBuilder();
        await foreach (EchoRequest request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            text.Append(request.Text);
        }

        return new EchoReply { Text = text.ToString() };
    }

    public override async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        await foreach (EchoRequest request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new EchoReply { Text = request.Text.Replace("ping", "pong", StringComparison.Ordinal) }, context.CancellationToken);
        }
    }
}
