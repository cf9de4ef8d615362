using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// The accept loop every listener of the transport runs (bound, inherited and hybrid vsock): what ends it,
/// what it retries, and the rule that nothing one accepted socket does can stop the endpoint.
/// </summary>
internal sealed class VmciAcceptLoop(Socket listenSocket, EndPoint endPoint, VmciTransportMetrics? metrics, ILogger logger)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);
    private readonly VmciLogRateLimit _failureLog = new(TimeSpan.FromSeconds(10));

    /// <summary>
    /// Accepts until <paramref name="create"/> turns a socket into a connection (null: it refused that socket and
    /// closed it), or returns null once the listener is unbound.
    /// </summary>
    internal async ValueTask<ConnectionContext?> AcceptAsync(Func<Socket, ConnectionContext?> create, CancellationToken cancellationToken)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null; // unbound
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return null; // unbound while accepting
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The peer gave up between connect and accept: its business, not a server error.
                VmciTransportLog.AcceptReset(logger);
                metrics?.Rejected(VmciRejectionReason.ResetBeforeAccept, peerCid: null);
                continue;
            }
            catch (SocketException ex)
            {
                // Out of descriptors or buffers: say so (once in a while: this repeats every retry while it
                // lasts), wait a moment, and keep accepting. Ending the loop would stop this endpoint for good
                // while the server looks healthy.
                if (_failureLog.TryEnter(out long suppressed))
                {
                    VmciTransportLog.AcceptFailed(logger, endPoint, suppressed, ex);
                }

                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                if (create(accepted) is { } connection)
                {
                    return connection;
                }
            }
            catch (Exception ex)
            {
                // Whatever goes wrong with one accepted socket is that socket's end, not the endpoint's. Logged and
                // counted before the close, as refusals are: once the peer sees the end, the server has said why.
                try
                {
                    VmciTransportLog.AcceptedConnectionFailed(logger, endPoint, ex);
                    metrics?.Rejected(VmciRejectionReason.SetupFailed, peerCid: null);
                }
                finally
                {
                    accepted.Dispose();
                }
            }
        }
    }
}
