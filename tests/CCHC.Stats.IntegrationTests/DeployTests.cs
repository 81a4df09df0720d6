using System.Text.Json;
using System.Text.RegularExpressions;

namespace CCHC.Stats.IntegrationTests;

/// <summary>The Grafana dashboard and the Prometheus alerts in deploy/ ask only for metrics the service exports.</summary>
public sealed partial class DeployTests(StatsApp app)
{
    [Fact]
    public async Task the_provisioned_dashboard_and_alerts_query_metrics_the_service_exports()
    {
        var deploy = Path.Combine(ServiceProcess.RepositoryRoot(), "deploy");
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(deploy, "grafana", "dashboards", "cchc-stats.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!))
            .Concat(ExprLine().Matches(await File.ReadAllTextAsync(Path.Combine(deploy, "prometheus", "alerts.yml"))).Select(m => m.Groups[1].Value))
            .ToList();
        var wanted = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet();

        await using var service = await ServiceProcess.StartAsync(await app.Database.CreateDatabaseAsync("deploy"));
        await service.AddSiteAsync("deploy", "portal.test");
        using var client = service.Client();
        (await client.PostAsJsonAsync("/api/v1/sites/deploy/views", new PageViewRequest("https://portal.test/"))).EnsureSuccessStatusCode();
        await client.PostAsJsonAsync("/api/v1/sites/deploy/views", new PageViewRequest("https://elsewhere.example/"));
        await client.GetAsync("/api/v1/sites/deploy/counters");

        var exported = "";
        await Eventually.Until(async () =>
        {
            exported = await client.GetStringAsync("/metrics");
            return wanted.All(exported.Contains);
        }, TimeSpan.FromSeconds(20), "every wanted metric should be exported");

        Assert.NotEmpty(wanted);
        Assert.All(wanted, metric => Assert.Contains(metric, exported));
        Assert.True(File.Exists(Path.Combine(deploy, "compose.yaml")));
        Assert.Contains("prometheus/prometheus.yml", await File.ReadAllTextAsync(Path.Combine(deploy, "compose.yaml")));
    }

    [GeneratedRegex(@"cchc_[a-z_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"expr:\s*(.+)")]
    private static partial Regex ExprLine();
}
