using System;
using System.IO.Pipelines;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// Counts the bytes a server hands its transport: what it really tried to send. An app's own count of its writes is
/// no measure of that, because once a connection is aborted Kestrel completes such writes at once and drops them, and
/// it tells the app (RequestAborted) only later, on the thread pool.
/// </summary>
internal sealed class SentBytes
{
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    /// <summary>Connection middleware for <c>ListenOptions.Use</c>: every connection's output counts here.</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => connection =>
    {
        IDuplexPipe transport = connection.Transport;
        connection.Transport = new CountedPipe(transport.Input, new CountingWriter(transport.Output, this));
        return next(connection);
    };

    private sealed record CountedPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private sealed class CountingWriter(PipeWriter inner, SentBytes counter) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            Interlocked.Add(ref counter._total, bytes);
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
