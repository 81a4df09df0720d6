using System.Diagnostics;

namespace CCHC.Stats.Tests;

/// <summary>
/// Every rule in deploy/prometheus/ against series written for it (<c>alerts.test.yml</c>), by Prometheus' own
/// <c>promtool test rules</c>. Debian's <c>prometheus</c> package ships promtool; run as root, the test installs it
/// when it is missing (CI does, in <c>.ci/run</c>).
/// </summary>
public sealed class AlertRulesTests
{
    private const string Promtool = "/usr/bin/promtool";

    private static readonly string Rules = Path.Combine(Repository.Root, "deploy", "prometheus");

    private static readonly SemaphoreSlim Installing = new(1, 1);

    [Fact]
    public async Task the_rules_are_valid_and_pass_their_tests()
    {
        await EnsurePromtoolAsync();

        var (checkCode, checkOutput) = await RunAsync(Promtool, "check", "rules", Path.Combine(Rules, "alerts.yml"));
        var (testCode, testOutput) = await RunAsync(Promtool, "test", "rules", Path.Combine(Rules, "alerts.test.yml"));

        Assert.True(checkCode == 0, checkOutput);
        Assert.True(testCode == 0, testOutput);
        Assert.Contains("SUCCESS", testOutput);
    }

    [Fact]
    public void every_alert_rule_has_a_test()
    {
        var rules = File.ReadAllLines(Path.Combine(Rules, "alerts.yml")).Select(l => l.Trim()).Where(l => l.StartsWith("- alert: ", StringComparison.Ordinal))
            .Select(l => l["- alert: ".Length..]).ToList();
        var tested = File.ReadAllLines(Path.Combine(Rules, "alerts.test.yml")).Select(l => l.Trim()).Where(l => l.StartsWith("alertname: ", StringComparison.Ordinal))
            .Select(l => l["alertname: ".Length..]).ToHashSet();

        Assert.NotEmpty(rules);
        Assert.All(rules, rule => Assert.Contains(rule, tested));
    }

    private static async Task EnsurePromtoolAsync()
    {
        await Installing.WaitAsync();
        try
        {
            if (File.Exists(Promtool))
            {
                return;
            }

            Assert.True(Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"),
                $"The alert rules' tests need promtool at {Promtool}: apt-get install -y --no-install-recommends prometheus");
            await RunAsync("apt-get", "update", "-qq");
            var (code, output) = await RunAsync("apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus");
            Assert.True(code == 0, output);
        }
        finally
        {
            Installing.Release();
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stdout + await stderr);
    }
}
