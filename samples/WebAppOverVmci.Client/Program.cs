using System;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Vmci.Kestrel;
using Vmci.Native;

namespace WebAppOverVmci.Client;

/// <summary>
/// Usage: WebAppOverVmci.Client [vsock://CID:PORT [SECONDS]] (default vsock://local:8080, the dashboard on this
/// machine, and 30 s for the answer). Calls the dashboard's /api/status over vsock with HttpClient and prints what
/// the VM says about itself and about this caller.
/// </summary>
internal static class DashboardClient
{
    public static async Task<int> Main(string[] args)
    {
        string target = args is [var t, ..] ? t : "vsock://local:8080";
        if (!VmciEndPoint.TryParse(target, out VmciEndPoint? endPoint) || endPoint.Cid == VmciCid.Any)
        {
            Console.Error.WriteLine($"client: '{target}' is not a vsock endpoint to call: expected vsock://CID:PORT, for example vsock://3:8080");
            return 2;
        }

        // An emulated guest (TCG) can take minutes over its first answer: the caller may give it more time.
        if (!TryGetTimeout(args, out TimeSpan timeout))
        {
            Console.Error.WriteLine($"client: '{args[1]}' is not a number of seconds to wait for the answer");
            return 2;
        }

        using var client = new HttpClient(VmciHttp.CreateHandler(endPoint)) { BaseAddress = new Uri($"http://cid-{endPoint.Cid}/"), Timeout = timeout };
        try
        {
            using JsonDocument document = JsonDocument.Parse(await client.GetStringAsync("api/status"));
            JsonElement status = document.RootElement.GetProperty("status");
            JsonElement you = document.RootElement.GetProperty("you");
            double uptime = status.GetProperty("uptimeSeconds").GetDouble();
            long total = status.GetProperty("memoryTotalBytes").GetInt64(), available = status.GetProperty("memoryAvailableBytes").GetInt64();
            Console.WriteLine($"dashboard at {endPoint}:");
            Console.WriteLine($"  VM        {status.GetProperty("hostname").GetString()} (local CID {status.GetProperty("localCid").GetString()}), {status.GetProperty("operatingSystem").GetString()}");
            Console.WriteLine($"  uptime    {TimeSpan.FromSeconds(Math.Round(uptime))}");
            Console.WriteLine($"  CPU       {status.GetProperty("processorCount").GetInt32()} CPUs");
            Console.WriteLine($"  memory    {(total - available) >> 20} MiB used of {total >> 20} MiB");
            Console.WriteLine($"  served    {status.GetProperty("requestsServed").GetInt64()} requests, runtime {status.GetProperty("dotnetVersion").GetString()}");
            Console.WriteLine($"  sees you  as CID {you.GetProperty("peerCid").GetUInt32()} port {you.GetProperty("peerPort").GetUInt32()} over {you.GetProperty("protocol").GetString()} on {you.GetProperty("localEndPoint").GetString()}");
            return 0;
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"client: {ex.Message}");
            return 1;
        }
        catch (TaskCanceledException)
        {
            Console.Error.WriteLine($"client: the dashboard at {endPoint} did not answer within {timeout.TotalSeconds:0} s; give it more time with a second argument (seconds)");
            return 1;
        }
    }

    private static bool TryGetTimeout(string[] args, out TimeSpan timeout)
    {
        timeout = TimeSpan.FromSeconds(30);
        if (args is not [_, var text, ..])
        {
            return true;
        }

        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) || seconds <= 0 || seconds > int.MaxValue / 1000)
        {
            return false;
        }

        timeout = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
