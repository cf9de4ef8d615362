using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

[Trait("Category", "Vsock")]
public sealed class ProtocolTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockTheory(VsockNeeds.Loopback)]
    [InlineData(HttpProtocols.Http1, "1.1", "http/1.1", "HTTP/1.1")]
    [InlineData(HttpProtocols.Http1AndHttp2, "2.0", "h2", "HTTP/2")]
    public async Task Https_NegotiatesTheProtocolWithAlpn(HttpProtocols offered, string version, string alpn, string protocol)
    {
        using X509Certificate2 certificate = SelfSignedCertificate("dashboard.vsock");
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext context) =>
                $"{context.Request.Protocol} {context.Request.Scheme} {Encoding.ASCII.GetString(context.Features.Get<ITlsApplicationProtocolFeature>()!.ApplicationProtocol.Span)} {context.GetVmciConnection()!.PeerCid}"),
            listen: l =>
            {
                l.Protocols = offered;
                l.UseHttps(certificate);
            });
        VsockGuard.EnsureMayConnect(server.Target);
        SocketsHttpHandler handler = VmciHttp.CreateHandler(server.Target);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            cert is not null && cert.GetCertHashString() == certificate.Thumbprint && errors == SslPolicyErrors.RemoteCertificateChainErrors;
        // The client offers h2 and http/1.1; the server's choice decides.
        using var client = new HttpClient(handler) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower };

        using HttpResponseMessage response = await client.GetAsync("https://dashboard.vsock/", Ct);

        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal($"{protocol} https {alpn} 1", await response.Content.ReadAsStringAsync(Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task WebSockets_EchoSmallAndLargeMessages()
    {
        await using VsockServer server = await VsockServer.StartAsync(app =>
        {
            app.UseWebSockets();
            app.Map("/ws", async (HttpContext context) =>
            {
                using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
                byte[] buffer = new byte[4 << 20];
                while (true)
                {
                    int length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await socket.ReceiveAsync(buffer.AsMemory(length), context.RequestAborted);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage);

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", context.RequestAborted);
                        return;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, length), result.MessageType, true, context.RequestAborted);
                }
            });
        });
        VsockGuard.EnsureMayConnect(server.Target);
        using var invoker = new HttpMessageInvoker(VmciHttp.CreateHandler(server.Target));
        using var client = new ClientWebSocket();

        await client.ConnectAsync(new Uri("ws://dashboard.vsock/ws"), invoker, Ct);
        foreach (byte[] message in new[] { Encoding.UTF8.GetBytes("hello over vsock"), RandomNumberGenerator.GetBytes(3 << 20) })
        {
            await client.SendAsync(message, WebSocketMessageType.Binary, true, Ct);
            byte[] echo = await ReceiveMessageAsync(client, message.Length);
            Assert.Equal(SHA256.HashData(message), SHA256.HashData(echo));
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Ct);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal("bye", client.CloseStatusDescription);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ServerSentEvents_ArriveOneByOne_WhileTheResponseIsOpen()
    {
        var clientGotFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/events", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            // The second event is only sent once the client proves it received the first one.
            await clientGotFirst.Task.WaitAsync(TimeSpan.FromSeconds(60), context.RequestAborted);
            await context.Response.WriteAsync("data: second\n\n", context.RequestAborted);
        }));
        using HttpClient client = server.CreateClient();

        using HttpResponseMessage response = await client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, Ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));

        Assert.Equal("data: first", await reader.ReadLineAsync(Ct));
        Assert.Equal("", await reader.ReadLineAsync(Ct));
        clientGotFirst.SetResult();
        Assert.Equal("data: second", await reader.ReadLineAsync(Ct));
        Assert.Equal("", await reader.ReadLineAsync(Ct));
        Assert.Null(await reader.ReadLineAsync(Ct));
    }

    internal static X509Certificate2 SelfSignedCertificate(string dnsName, bool clientAuth = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        // 1.3.6.1.5.5.7.3.1 server authentication, 1.3.6.1.5.5.7.3.2 client authentication.
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid(clientAuth ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static async Task<byte[]> ReceiveMessageAsync(ClientWebSocket client, int expectedLength)
    {
        byte[] buffer = new byte[expectedLength + 1];
        int length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await client.ReceiveAsync(buffer.AsMemory(length), Ct);
            length += result.Count;
        }
        while (!result.EndOfMessage);

        return buffer[..length];
    }
}
