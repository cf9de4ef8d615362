using System;
using System.Globalization;
using System.Linq;

/// <summary>The load generator's command line.</summary>
internal sealed record LoadOptions(
    string[] Targets,
    string Path,
    int Connections,
    double DurationSeconds,
    double WarmupSeconds,
    int Rounds,
    bool Http2,
    bool NewConnection,
    int UploadBytes,
    int Idle,
    string Label,
    ulong? VsockBufferSize,
    int FirstRound)
{
    public const string Usage = """
        Vmci.Load --targets vsock://1:5000,tcp://127.0.0.1:5100,unix:/tmp/vmci-bench-h1.sock
                  [--path /plaintext] [--connections 16] [--duration 3] [--warmup 1] [--rounds 3]
                  [--http2] [--new-connection] [--upload BYTES] [--label TEXT] [--idle N] [--vsock-buffer BYTES] [--first-round N]
        Vmci.Load report RESULTS.jsonl OUTPUT-DIRECTORY
        Measures every target in each round, in a rotated order, and prints one JSON line per target and round.
        """;

    public static LoadOptions Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        string targets = Value("--targets", Value("--target", "vsock://1:5000"));
        return new LoadOptions(
            targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Value("--path", "/plaintext"),
            int.Parse(Value("--connections", "16"), CultureInfo.InvariantCulture),
            double.Parse(Value("--duration", "3"), CultureInfo.InvariantCulture),
            double.Parse(Value("--warmup", "1"), CultureInfo.InvariantCulture),
            int.Parse(Value("--rounds", "1"), CultureInfo.InvariantCulture),
            args.Contains("--http2"),
            args.Contains("--new-connection"),
            int.Parse(Value("--upload", "0"), CultureInfo.InvariantCulture),
            int.Parse(Value("--idle", "0"), CultureInfo.InvariantCulture),
            Value("--label", ""),
            Value("--vsock-buffer", "") is { Length: > 0 } size ? ulong.Parse(size, CultureInfo.InvariantCulture) : null,
            int.Parse(Value("--first-round", "0"), CultureInfo.InvariantCulture));
    }
}
