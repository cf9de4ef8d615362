using System;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;

/// <summary>A connection of its own to the benchmark server's /gc endpoint: allocated bytes, live heap, working set.</summary>
internal static class ServerProbe
{
    public static HttpClient CreateClient(string target, Version? version = null) => new(Transports.CreateHandler(target, 1))
    {
        BaseAddress = new Uri("http://bench/"),
        DefaultRequestVersion = version ?? HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>The server's state; it collects fully before it reads its memory.</summary>
    public static async Task<JsonElement> ReadAsync(HttpClient client)
        => JsonDocument.Parse(await client.GetStringAsync("/gc")).RootElement.Clone();
}
