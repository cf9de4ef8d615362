using System.Collections.Generic;
using System.Linq;
using System.Text;
using Vmci.Kestrel.Internal;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>sd_notify message text as systemd-vmspawn reads it: KEY=VALUE lines split on \n and \r, empty lines skipped; anything else refused whole.</summary>
public sealed class NotifyMessageParserTests
{
    [Theory]
    [InlineData("READY=1", "READY=1")]
    [InlineData("READY=1\nSTATUS=Serving on 8080\n", "READY=1|STATUS=Serving on 8080")]
    [InlineData("\r\nX_SYSTEMD_UNIT_ACTIVE=multi-user.target\r\n\r\nEXIT_STATUS=0", "X_SYSTEMD_UNIT_ACTIVE=multi-user.target|EXIT_STATUS=0")]
    [InlineData("STATUS=a=b\nSTATUS=", "STATUS=a=b|STATUS=")]
    [InlineData("STATUS=Grüße ✓", "STATUS=Grüße ✓")]
    public void TryParse_ReadsFieldsInOrder(string message, string expected)
    {
        Assert.True(NotifyMessageParser.TryParse(Encoding.UTF8.GetBytes(message), out List<KeyValuePair<string, string>> fields, out _, out _));
        Assert.Equal(expected, string.Join('|', fields.Select(f => $"{f.Key}={f.Value}")));
    }

    [Theory]
    [InlineData(new byte[0], "Empty", "it is empty")]
    [InlineData(new byte[] { 10, 13, 10 }, "Empty", "only line breaks")]
    [InlineData(new byte[] { (byte)'R', (byte)'=', 0xC3, 0x28 }, "NotUtf8", "not valid UTF-8 (at offset 2)")]
    [InlineData(new byte[] { (byte)'R', (byte)'=', 0, (byte)'1' }, "NotUtf8", "NUL byte at offset 2")]
    public void TryParse_RefusesBytes(byte[] message, string reason, string detail)
    {
        Assert.False(NotifyMessageParser.TryParse(message, out _, out NotifyRefusal refusal, out string why));
        Assert.Equal(reason, refusal.ToString());
        Assert.Contains(detail, why, System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("READY=1\nhello", "field 2 ('hello') has no '='")]
    [InlineData("=1", "field 1 ('=1') has an empty key")]
    public void TryParse_RefusesLinesThatAreNotFields(string message, string detail)
    {
        Assert.False(NotifyMessageParser.TryParse(Encoding.UTF8.GetBytes(message), out _, out NotifyRefusal refusal, out string why));
        Assert.Equal(NotifyRefusal.Malformed, refusal);
        Assert.Contains(detail, why, System.StringComparison.Ordinal);
    }
}
