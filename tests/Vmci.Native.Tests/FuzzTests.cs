using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Vmci.Native.Tests;

/// <summary>
/// Random and mutated input for the endpoint parser and the sockaddr reader: a fixed number of cases
/// (VMCI_FUZZ_CASES, default 50,000 each), so a run checks as much on a slow machine as on a fast one.
/// Only the documented exceptions may come out. Each test writes its seed to the test output, and every
/// failure names it; VMCI_FUZZ_SEED replays a run.
/// </summary>
public sealed class FuzzTests
{
    private static readonly string[] Pieces =
        ["vsock://", "vsock:", "VSOCK://", ":", "::", "/", "-", "-1", "0", "1", "2", "3", "42", "1024", "4294967295", "4294967296",
         "99999999999999999999", "any", "ANY", "local", "host", "hypervisor", " ", "\t", "+", "0x10", "١", "\0", "%", "?", "?to-host", "hvsock://", "@", "[", "]", "é"];

    private static int Cases => int.Parse(Environment.GetEnvironmentVariable("VMCI_FUZZ_CASES") ?? "50000", CultureInfo.InvariantCulture);

    private static int Seed
    {
        get
        {
            int seed = Environment.GetEnvironmentVariable("VMCI_FUZZ_SEED") is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : Random.Shared.Next();
            TestContext.Current.TestOutputHelper?.WriteLine($"fuzz seed {seed} ({Cases} cases; replay with VMCI_FUZZ_SEED={seed})");
            return seed;
        }
    }

    [Fact]
    public void Parser_ThrowsOnlyFormatException_AndWhatItAcceptsRoundTrips()
    {
        int seed = Seed;
        var random = new Random(seed);
        for (int i = 0; i < Cases; i++)
        {
            string input = random.Next(4) == 0 ? RandomText(random) : Compose(random);
            try
            {
                VmciEndPoint parsed = VmciEndPoint.Parse(input);
                Assert.True(VmciEndPoint.TryParse(input, out VmciEndPoint? again) && again.Equals(parsed), $"seed {seed}: TryParse disagrees with Parse on '{input}'");
                Assert.True(VmciEndPoint.Parse(parsed.ToString()).Equals(parsed), $"seed {seed}: '{input}' -> {parsed} does not round-trip");
            }
            catch (FormatException ex)
            {
                Assert.False(VmciEndPoint.TryParse(input, out _), $"seed {seed}: TryParse accepted '{input}' that Parse refused");
                // "is not a vsock endpoint", or for hvsock:// texts, what kind of hybrid endpoint it is or is not.
                Assert.Contains("vsock endpoint", ex.Message, StringComparison.Ordinal);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: '{Escape(input)}' threw {ex.GetType().Name}: {ex.Message}");
            }

            // The shared entry point for both kinds: never throws, and what it accepts round-trips.
            if (VmciEndPointParser.TryParse(input, out EndPoint? any, out string? error))
            {
                Assert.True(VmciEndPointParser.Parse(any.ToString()!).Equals(any), $"seed {seed}: '{input}' -> {any} does not round-trip");
            }
            else
            {
                Assert.Contains("endpoint", error, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void SockaddrReader_ThrowsOnlyArgumentException_AndRoundTrips()
    {
        int seed = Seed;
        var random = new Random(seed);
        var template = new VmciEndPoint(1, 1);
        for (int i = 0; i < Cases; i++)
        {
            int size = random.Next(2) == 0 ? 16 : random.Next(2, 40);
            var address = new SocketAddress(AddressFamily.Unspecified, size);
            Span<byte> bytes = address.Buffer.Span[..size];
            random.NextBytes(bytes);
            if (random.Next(2) == 0)
            {
                // Half the time a real AF_VSOCK family, so the reader gets past its first check.
                BitConverter.TryWriteBytes(bytes, (ushort)40);
            }

            try
            {
                var endPoint = (VmciEndPoint)template.Create(address);
                SocketAddress again = endPoint.Serialize();
                Assert.True(endPoint.Equals(template.Create(again)), $"seed {seed}: {endPoint} does not survive Serialize/Create");
            }
            catch (ArgumentException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: {Convert.ToHexString(bytes)} threw {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    private static string Compose(Random random)
    {
        var text = new StringBuilder();
        int parts = random.Next(1, 7);
        for (int i = 0; i < parts; i++)
        {
            text.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return text.ToString();
    }

    private static string RandomText(Random random)
    {
        char[] chars = new char[random.Next(0, 30)];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)random.Next(0, 0x3000);
        }

        return new string(chars);
    }

    private static string Escape(string text)
    {
        var escaped = new StringBuilder();
        foreach (char c in text)
        {
            escaped.Append(c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return escaped.ToString();
    }
}
