using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Vmci.Kestrel.Internal;

/// <summary>Typed reads of one configuration section; every error names the full key and what it expects.</summary>
internal readonly struct VmciConfigurationReader(IConfigurationSection section)
{
    internal int? PositiveInt32(string key) => Read<int>(key, "a whole number above 0",
        static s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : (int?)null);

    internal int? NonNegativeInt32(string key) => Read<int>(key, "a whole number, 0 or above",
        static s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : (int?)null);

    internal ulong? UInt64(string key) => Read<ulong>(key, "a whole number of bytes above 0",
        static s => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) && v > 0 ? v : (ulong?)null);

    internal bool? Boolean(string key) => Read<bool>(key, "true or false",
        static s => bool.TryParse(s, out bool v) ? v : (bool?)null);

    /// <summary>Permission bits in octal, as chmod takes them (<c>0660</c>, <c>660</c>).</summary>
    internal System.IO.UnixFileMode? FileMode(string key) => Read<System.IO.UnixFileMode>(key, "permission bits in octal, from 0 to 0777 (for example 0600 or 0660)",
        static s =>
        {
            int mode = 0;
            foreach (char c in s)
            {
                if (c is < '0' or > '7' || (mode = mode * 8 + (c - '0')) > 0x1FF)
                {
                    return null;
                }
            }

            return s.Length > 0 ? (System.IO.UnixFileMode)mode : null;
        });

    /// <summary>A byte limit where an empty value or "null" means no limit.</summary>
    internal long? Limit(string key, long? current)
    {
        string? text = section[key];
        if (text is null)
        {
            return current;
        }

        if (text.Length == 0 || text.Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return Read<long>(key, "a whole number of bytes, or empty for no limit",
            static s => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : (long?)null);
    }

    /// <summary>CIDs as an array (Key:0, Key:1) or one comma-separated value.</summary>
    internal uint[] CidList(string key)
    {
        IConfigurationSection list = section.GetSection(key);
        var texts = new List<(string Path, string Text)>();
        if (list.Value is { } single)
        {
            foreach (string part in single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                texts.Add((list.Path, part));
            }
        }

        foreach (IConfigurationSection child in list.GetChildren())
        {
            if (child.Value is { } value)
            {
                texts.Add((child.Path, value.Trim()));
            }
        }

        var cids = new uint[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (!uint.TryParse(texts[i].Text, NumberStyles.None, CultureInfo.InvariantCulture, out cids[i]) || cids[i] == Native.VmciCid.Any)
            {
                throw new InvalidOperationException($"The setting {texts[i].Path} = '{texts[i].Text}' is not a CID: expected a whole number from 0 to 4294967294.");
            }
        }

        return cids;
    }

    private T? Read<T>(string key, string expected, Func<string, T?> parse)
        where T : struct
    {
        string? text = section[key];
        if (text is null)
        {
            return null;
        }

        return parse(text.Trim()) ?? throw new InvalidOperationException($"The setting {section.Path}:{key} = '{text}' is not valid: expected {expected}.");
    }
}
