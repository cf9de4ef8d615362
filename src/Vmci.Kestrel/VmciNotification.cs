using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Vmci.Kestrel;

/// <summary>
/// One sd_notify message a guest sent to a <see cref="VmciNotifyReceiver"/>: its <c>KEY=VALUE</c> fields
/// (<c>READY=1</c>, <c>STATUS=...</c>, <c>STOPPING=1</c>, <c>X_SYSTEMD_UNIT_ACTIVE=...</c>, <c>EXIT_STATUS=...</c>)
/// and who sent it.
/// </summary>
public sealed class VmciNotification
{
    internal VmciNotification(uint? peerCid, uint? peerPort, IReadOnlyList<KeyValuePair<string, string>> fields, DateTimeOffset receivedAt)
    {
        PeerCid = peerCid;
        PeerPort = peerPort;
        Fields = fields;
        ReceivedAt = receivedAt;
    }

    /// <summary>The sender's CID; null on a hybrid vsock receiver, where the hypervisor does not say (the sender is the VM that owns the socket).</summary>
    public uint? PeerCid { get; }

    /// <summary>The sender's vsock port (below 1024 when it ran privileged, as systemd binds); null on a hybrid vsock receiver.</summary>
    public uint? PeerPort { get; }

    /// <summary>The fields in the order sent; a key may repeat.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>When the receiver had read the whole message.</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>Whether the message says <c>READY=1</c>.</summary>
    public bool IsReady => TryGetValue("READY", out string? value) && value == "1";

    /// <summary>Whether the message says <c>STOPPING=1</c>.</summary>
    public bool IsStopping => TryGetValue("STOPPING", out string? value) && value == "1";

    /// <summary>The <c>STATUS=</c> text, or null.</summary>
    public string? Status => TryGetValue("STATUS", out string? value) ? value : null;

    /// <summary>The value of the first field named <paramref name="key"/> (systemd reads the first one too).</summary>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (KeyValuePair<string, string> field in Fields)
        {
            if (string.Equals(field.Key, key, StringComparison.Ordinal))
            {
                value = field.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>The fields, space-separated, and the sender: <c>READY=1 STATUS=Serving (CID 3, port 1023)</c>.</summary>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{string.Join(' ', Fields.Select(f => $"{f.Key}={f.Value}"))} ({DescribePeer(PeerCid, PeerPort)})");

    internal static string DescribePeer(uint? cid, uint? port)
        => cid is uint c ? string.Create(CultureInfo.InvariantCulture, $"CID {c}, port {port}") : "the hybrid vsock VM";
}
