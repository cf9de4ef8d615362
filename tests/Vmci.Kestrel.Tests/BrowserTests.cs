using System;
using System.Globalization;
using System.IO;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Hosting;
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
[Trait("Category", "Vsock")]
[Collection(nameof(BrowserTests))]
public sealed class BrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

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

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });

        await CheckLiveDashboardAsync(browser, $"http://127.0.0.1:{forwardPort}/", "forward");
        await CheckLiveDashboardAsync(browser, $"http://127.0.0.1:{gatewayPort}/vm/1/", "gateway");
    }

    private static async Task CheckLiveDashboardAsync(IBrowser browser, string url, string name)
    {
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(url);

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
