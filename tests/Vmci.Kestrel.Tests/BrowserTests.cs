using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// A real browser (Debian's Chromium, driven by Playwright) on the sample dashboard, reached over TCP through
/// `vmci forward` and `vmci gateway`, which carry it to vsock: the live values must appear and change.
/// </summary>
// Alone, after the parallel tests: Chromium under TCG needs the sandbox's two vCPUs to itself, or a page load can
// take minutes.
[CollectionDefinition(nameof(BrowserTests), DisableParallelization = true)]
public sealed class BrowserTestsDefinition;

[Trait("Category", "Vsock")]
[Collection(nameof(BrowserTests))]
public sealed class BrowserTests
{
    internal const string Chromium = "/usr/bin/chromium";

    // A guard against a hang, not a measure: the first page load through a tool under TCG can take half a minute.
    internal const float PageTimeoutMs = 180_000;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Dashboard_ThroughForwardAndGateway_ShowsLiveValues()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is not installed (Debian package chromium; eng/test installs it)");
        await using WebApplicationFactory<Program> dashboard = SampleDashboard.Start(out uint port);
        int forwardPort = ExternalProcess.FreeTcpPort(), gatewayPort = ExternalProcess.FreeTcpPort();
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{forwardPort}", "--to", $"vsock://1:{port}"]);
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{gatewayPort}", "--guests", "1", "--guest-port", port.ToString(CultureInfo.InvariantCulture)]);
        await forward.WaitForLineAsync("vmci forward: listening on");
        await gateway.WaitForLineAsync("vmci gateway: serving guests 1");
        // What the browser then measures is the page, not the tools' first request (their JIT, the first vsock connect).
        await WarmUpAsync($"http://127.0.0.1:{forwardPort}/api/status");
        await WarmUpAsync($"http://127.0.0.1:{gatewayPort}/api/status", host: $"cid-1.localhost:{gatewayPort}");
        Step("tools up");
        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await LaunchAsync(playwright);
        Step("browser up");

        await CheckLiveDashboardAsync(browser, $"http://127.0.0.1:{forwardPort}/", $"http://127.0.0.1:{forwardPort}/", "forward");
        // The old address redirects to the guest's own origin.
        await CheckLiveDashboardAsync(browser, $"http://127.0.0.1:{gatewayPort}/vm/1/", $"http://cid-1.localhost:{gatewayPort}/", "gateway");
    }

    /// <summary>
    /// Two guests behind one gateway, each on its own origin: guest A's page runs a script that reads guest B's
    /// secret with fetch and through an iframe. The browser must refuse both (same-origin policy; B sends no CORS
    /// headers), while the same reads of A's own secret succeed, and B must have been asked (so the gateway routed
    /// them and the browser, not a routing failure, kept the answer from A's script). A cookie A sets for all of
    /// localhost must stay A's, and A may not register a service worker.
    /// </summary>
    [VsockFact(VsockNeeds.Loopback)]
    public async Task Gateway_KeepsOneGuestsPageFromReadingAnothersPages()
    {
        Assert.SkipUnless(File.Exists(Chromium), $"{Chromium} is not installed (Debian package chromium; eng/test installs it)");
        int secretsOfB = 0;
        await using VsockServer guestA = await VsockServer.StartAsync(app =>
        {
            app.MapGet("/", (HttpResponse response) =>
            {
                // A cookie for every *.localhost origin, if the gateway passed the Domain on.
                response.Headers.SetCookie = "shared=1; Domain=localhost; Path=/";
                return Results.Content(AttackerPage, "text/html; charset=utf-8");
            });
            app.MapGet("/secret", () => Results.Content("secret of A", "text/html; charset=utf-8"));
            // A service worker would outlive the guest: it keeps answering for its origin whoever holds it next.
            app.MapGet("/sw.js", () => Results.Content("self.addEventListener('fetch', e => e.respondWith(new Response('owned')));", "text/javascript"));
        });
        await using VsockServer guestB = await VsockServer.StartAsync(app => app.MapGet("/secret", () =>
        {
            Interlocked.Increment(ref secretsOfB);
            return Results.Content("secret of B", "text/html; charset=utf-8");
        }));
        int gatewayPort = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{gatewayPort}", "--guest", $"a=vsock://1:{guestA.Target.Port}", "--guest", $"b=vsock://1:{guestB.Target.Port}"]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests a (");
        await WarmUpAsync($"http://127.0.0.1:{gatewayPort}/secret", host: $"a.localhost:{gatewayPort}");

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await LaunchAsync(playwright);
        IPage page = await browser.NewPageAsync();
        page.SetDefaultTimeout(PageTimeoutMs);
        Watch(page, "guest a");
        await page.GotoAsync($"http://127.0.0.1:{gatewayPort}/vm/a/");
        await page.WaitForFunctionAsync("() => window.results !== undefined");
        var results = JsonSerializer.Deserialize<Dictionary<string, string>>(await page.EvaluateAsync<string>("() => JSON.stringify(window.results)"))!;

        IReadOnlyList<BrowserContextCookiesResult> cookies = await page.Context.CookiesAsync();

        Assert.Equal($"http://a.localhost:{gatewayPort}/", page.Url);
        Assert.Equal("a.localhost", Assert.Single(cookies, c => c.Name == "shared").Domain); // host-only: A's alone
        Assert.Equal("read: secret of A", results["fetchOwn"]);
        Assert.Equal("read: secret of A", results["frameOwn"]);
        Assert.StartsWith("blocked: TypeError", results["fetchOther"], StringComparison.Ordinal);
        Assert.StartsWith("blocked: ", results["frameOther"], StringComparison.Ordinal);
        Assert.StartsWith("blocked: ", results["serviceWorker"], StringComparison.Ordinal);
        Assert.True(Volatile.Read(ref secretsOfB) >= 2, $"guest B's /secret was asked {secretsOfB} times; the fetch and the iframe should both have reached it");
    }

    // Guest A's page: reads its own secret and guest B's, with fetch and through an iframe, and says what it got.
    private const string AttackerPage = """
        <!doctype html><html><head><meta charset="utf-8"><title>guest A</title><link rel="icon" href="data:,"></head><body>
        <script>
        const other = 'http://b.localhost:' + location.port + '/secret';
        async function get(url) {
          try { const r = await fetch(url); return 'read: ' + await r.text(); } catch (e) { return 'blocked: ' + e.name + ' ' + e.message; }
        }
        function frame(url) {
          return new Promise(resolve => { const f = document.createElement('iframe'); f.onload = () => resolve(f); f.src = url; document.body.appendChild(f); });
        }
        function read(f) {
          try { const d = f.contentWindow.document; return d ? 'read: ' + d.body.textContent : 'blocked: no document'; } catch (e) { return 'blocked: ' + e.name; }
        }
        (async () => {
          const results = { fetchOwn: await get('/secret'), fetchOther: await get(other) };
          results.frameOwn = read(await frame('/secret'));
          results.frameOther = read(await frame(other));
          try { await navigator.serviceWorker.register('/sw.js'); results.serviceWorker = 'registered'; } catch (e) { results.serviceWorker = 'blocked: ' + e.name + ' ' + e.message; }
          window.results = results;
        })();
        </script></body></html>
        """;

    private static readonly System.Diagnostics.Stopwatch Clock = System.Diagnostics.Stopwatch.StartNew();

    // What the page loaded and when, in the test's output: when a load times out, it shows which request hung.
    internal static void Watch(IPage page, string name)
    {
        Step($"{name}: new page");
        page.Request += (_, r) => Step($"{name}: request {r.Method} {r.Url}");
        page.Response += (_, r) => Step($"{name}: response {r.Status} {r.Url}");
        page.RequestFailed += (_, r) => Step($"{name}: failed {r.Url} {r.Failure}");
        page.Load += (_, _) => Step($"{name}: load");
    }

    private static void Step(string what) => Console.WriteLine($"[browser {Clock.Elapsed.TotalSeconds:F1}s] {what}");

    private static async Task WarmUpAsync(string url, string? host = null)
    {
        using var client = new System.Net.Http.HttpClient { Timeout = TimeSpan.FromMilliseconds(PageTimeoutMs) };
        using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, url);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        using System.Net.Http.HttpResponseMessage response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"warm-up GET {url} (Host {host}): {(int)response.StatusCode}");
        Step($"warmed up {host ?? url}");
    }

    internal static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });

    private static async Task CheckLiveDashboardAsync(IBrowser browser, string url, string landsOn, string name)
    {
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
        page.SetDefaultTimeout(PageTimeoutMs);
        Watch(page, name);
        await page.GotoAsync(url);
        Step($"{name}: goto done");
        Assert.Equal(landsOn, page.Url);

        // The values arrive from /api/status and then live from /api/events (server-sent events, every 2 s).
        await page.WaitForFunctionAsync("() => document.getElementById('cid').textContent === '1'");
        Assert.Equal("1", await page.TextContentAsync("#cid"));
        Assert.Contains("over vsock from CID 1", await page.TextContentAsync("#connection"), StringComparison.Ordinal);
        string firstUptime = (await page.TextContentAsync("#uptime"))!;
        string firstUpdate = (await page.TextContentAsync("#updated"))!;
        await page.WaitForFunctionAsync("([u, t]) => document.getElementById('uptime').textContent !== u && document.getElementById('updated').textContent !== t", new[] { firstUptime, firstUpdate });
        Assert.NotEqual(firstUptime, await page.TextContentAsync("#uptime"));
        Assert.Matches(@"^\d+$", await page.TextContentAsync("#requests"));
        Assert.True(await page.Locator("#callers tr").CountAsync() >= 1);

        string directory = Environment.GetEnvironmentVariable("VMCI_TEST_ARTIFACTS") ?? Path.GetTempPath();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, $"dashboard-{name}.png"), FullPage = true });
        await page.CloseAsync();
    }
}
