using System;
using System.Collections.Generic;
using System.Text;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Reads one sd_notify message: newline-separated <c>KEY=VALUE</c> fields in UTF-8 (systemd-vmspawn splits on
/// <c>\n</c> and <c>\r</c> and skips empty lines; so does this). Anything else is refused whole, with the reason.
/// </summary>
internal static class NotifyMessageParser
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal static bool TryParse(ReadOnlySpan<byte> message, out List<KeyValuePair<string, string>> fields, out NotifyRefusal refusal, out string detail)
    {
        fields = [];
        refusal = default;
        detail = "";
        if (message.IsEmpty)
        {
            (refusal, detail) = (NotifyRefusal.Empty, "it is empty");
            return false;
        }

        if (message.IndexOf((byte)0) is int nul and >= 0)
        {
            (refusal, detail) = (NotifyRefusal.NotUtf8, $"it holds a NUL byte at offset {nul}");
            return false;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(message);
        }
        catch (DecoderFallbackException ex)
        {
            (refusal, detail) = (NotifyRefusal.NotUtf8, $"it is not valid UTF-8 (at offset {ex.Index})");
            return false;
        }

        int lineNumber = 0;
        foreach (Range range in text.AsSpan().SplitAny('\n', '\r'))
        {
            ReadOnlySpan<char> line = text.AsSpan(range);
            if (line.IsEmpty)
            {
                continue;
            }

            lineNumber++;
            int equals = line.IndexOf('=');
            if (equals <= 0)
            {
                string shown = line.Length > 40 ? $"{line[..40]}..." : line.ToString();
                (refusal, detail) = (NotifyRefusal.Malformed, equals < 0
                    ? $"field {lineNumber} ('{shown}') has no '=' (every line is KEY=VALUE)"
                    : $"field {lineNumber} ('{shown}') has an empty key (every line is KEY=VALUE)");
                return false;
            }

            fields.Add(new KeyValuePair<string, string>(line[..equals].ToString(), line[(equals + 1)..].ToString()));
        }

        if (fields.Count == 0)
        {
            (refusal, detail) = (NotifyRefusal.Empty, "it has only line breaks");
            return false;
        }

        return true;
    }
}
