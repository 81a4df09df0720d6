using System.Diagnostics;
using Microsoft.Playwright;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// Headless Chromium from Debian's package, driven by Playwright (whose own browser download is not
/// reachable here). Where the package is missing and the tests run as root, it is installed.
/// </summary>
public static class Browser
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>A desktop Chrome's User-Agent: headless Chromium's own says "HeadlessChrome", a bot.</summary>
    public const string UserAgent = StatsApp.BrowserAgent;

    private static readonly SemaphoreSlim Installing = new(1, 1);

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        await EnsureChromiumAsync();
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
        return (playwright, browser);
    }

    private static async Task EnsureChromiumAsync()
    {
        await Installing.WaitAsync();
        try
        {
            if (File.Exists(ChromiumPath))
            {
                return;
            }

            if (Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
            {
                throw new InvalidOperationException($"The browser tests need Debian's Chromium at {ChromiumPath}: apt-get install -y chromium");
            }

            await RunAsync("apt-get", "update", "-qq");
            await RunAsync("apt-get", "install", "-y", "-qq", "chromium");
        }
        finally
        {
            Installing.Release();
        }
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {await stderr}");
        }
    }
}
