using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.Playwright;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The browser on the host side of real guests: Chromium here, `vmci gateway --guests 3,4` in front of
/// Vmci.AotSmoke in guests 3 and 4. A script on guest 3's origin must read guest 3's answers and not guest 4's,
/// though the gateway carries both (the browser saw guest 4 answer). Shares the guests with <see cref="GuestTests"/>.
/// </summary>
[Collection(nameof(GuestTests))]
public sealed class GuestBrowserTests
{
    [GuestFact]
    public async Task Gateway_WithGuests3And4_InChromium_Guest3sOriginCannotReadGuest4()
    {
        Assert.SkipUnless(File.Exists(BrowserTests.Chromium), $"{BrowserTests.Chromium} is not installed (Debian package chromium; eng/test installs it)");
        await GuestServers.EnsureAsync(3);
        await GuestServers.EnsureAsync(4);
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guests", "3,4", "--guest-port", $"{GuestServers.SmokePort}", "--connect-timeout", "30"]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 3, 4");

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await BrowserTests.LaunchAsync(playwright);
        IPage page = await browser.NewPageAsync();
        page.SetDefaultTimeout(BrowserTests.PageTimeoutMs);
        BrowserTests.Watch(page, "guest 3");
        var answered = new ConcurrentQueue<string>();
        page.Response += (_, r) => answered.Enqueue($"{r.Status} {r.Url}");

        // A page of guest 3's origin (its /status, a text document); the script below runs there as guest 3's own would.
        await page.GotoAsync($"http://127.0.0.1:{port}/vm/3/status");
        string shown = (await page.InnerTextAsync("body")).Trim();
        var results = JsonSerializer.Deserialize<Dictionary<string, string>>(await page.EvaluateAsync<string>(CrossOriginReads, port))!;

        Assert.Equal($"http://cid-3.localhost:{port}/status", page.Url);
        Assert.Equal(GuestServers.Status(3), shown);
        Assert.Equal("read: " + GuestServers.Status(3), results["fetchOwn"]);
        Assert.Equal("read: " + GuestServers.Status(3), results["frameOwn"]);
        Assert.StartsWith("blocked: TypeError", results["fetchOther"], StringComparison.Ordinal);
        Assert.StartsWith("blocked: ", results["frameOther"], StringComparison.Ordinal);
        // Guest 4 did answer the browser (through the gateway, over vsock): the browser kept it from guest 3's script.
        Assert.Contains($"200 http://cid-4.localhost:{port}/status", answered);
    }

    // Reads guest 3's /status and guest 4's, with fetch and through an iframe, and says what it got.
    private const string CrossOriginReads = """
        async (port) => {
          const other = 'http://cid-4.localhost:' + port + '/status';
          async function get(url) {
            try { const r = await fetch(url); return 'read: ' + await r.text(); } catch (e) { return 'blocked: ' + e.name + ' ' + e.message; }
          }
          function frame(url) {
            return new Promise(resolve => { const f = document.createElement('iframe'); f.onload = () => resolve(f); f.src = url; document.body.appendChild(f); });
          }
          function read(f) {
            try { const d = f.contentWindow.document; return d ? 'read: ' + d.body.textContent.trim() : 'blocked: no document'; } catch (e) { return 'blocked: ' + e.name; }
          }
          const results = { fetchOwn: await get('/status'), fetchOther: await get(other) };
          results.frameOwn = read(await frame('/status'));
          results.frameOther = read(await frame(other));
          return JSON.stringify(results);
        }
        """;
}
