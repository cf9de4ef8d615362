using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

/// <summary>
/// What idle keep-alive connections cost the server: opens N connections, makes one request on each,
/// leaves them open, and reads the server's memory (its /gc endpoint) before and after.
/// </summary>
internal static class IdleConnections
{
    public static async Task<int> MeasureAsync(LoadOptions options)
    {
        using var control = new HttpClient(Transports.CreateHandler(options.Target, 1)) { BaseAddress = new Uri("http://bench/") };
        JsonElement before = await ServerMemoryAsync(control);
        var sockets = new List<Socket>(options.Idle);
        byte[] request = Encoding.ASCII.GetBytes($"GET {options.Path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        byte[] buffer = new byte[4096];
        try
        {
            for (int i = 0; i < options.Idle; i++)
            {
                Socket socket = await Transports.ConnectAsync(options.Target, CancellationToken.None);
                sockets.Add(socket);
                await socket.SendAsync(request);
                await socket.ReceiveAsync(buffer);
            }

            await Task.Delay(TimeSpan.FromSeconds(options.DurationSeconds));
            JsonElement after = await ServerMemoryAsync(control);
            long Delta(string name) => after.GetProperty(name).GetInt64() - before.GetProperty(name).GetInt64();
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                target = options.Target,
                idle = options.Idle,
                workingSetPerConnection = Delta("workingSet") / options.Idle,
                managedPerConnection = Delta("managed") / options.Idle,
            }));
            return 0;
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private static async Task<JsonElement> ServerMemoryAsync(HttpClient control)
        => JsonDocument.Parse(await control.GetStringAsync("/gc")).RootElement.Clone();
}
