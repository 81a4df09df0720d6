using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CCHC.Stats.IntegrationTests;

/// <summary>
/// With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, traces and metrics leave over OTLP — and the spans carry no
/// IP or User-Agent. The collector here is a stand-in that keeps what it receives.
/// </summary>
public sealed class TelemetryExportTests(StatsApp app)
{
    private const string ProbeAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 QvzTrace/7.3";

    [Fact]
    public async Task traces_and_metrics_are_exported_over_otlp_without_personal_data()
    {
        var received = new ConcurrentBag<(string Path, byte[] Body)>();
        var port = ServiceProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            received.Add((http.Request.Path.Value!, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();

        await using var service = await ServiceProcess.StartAsync(await app.Database.CreateDatabaseAsync("otlp"), settings: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["Stats__TrustedProxies"] = "127.0.0.1",
        });
        await service.AddSiteAsync("otlp", "portal.test");
        using var client = service.Client();
        client.DefaultRequestHeaders.UserAgent.Clear();
        client.DefaultRequestHeaders.UserAgent.ParseAdd(ProbeAgent);
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.203");
        (await client.PostAsJsonAsync("/api/v1/sites/otlp/views", new PageViewRequest("https://portal.test/traced"))).EnsureSuccessStatusCode();

        await Eventually.Until(() => Task.FromResult(Has("/v1/traces", "/api/v1/sites/{siteId}/views") && Has("/v1/metrics", "cchc.views.accepted")),
            TimeSpan.FromSeconds(30), "the view's span and metric should reach the collector");

        Assert.True(Has("/v1/traces", "/api/v1/sites/{siteId}/views"), "no span of the view reached the collector");
        Assert.True(Has("/v1/metrics", "cchc.views.accepted"), "no metric reached the collector");
        Assert.True(Has("/v1/traces", "RecordPageViews") || Has("/v1/traces", "record"), "the span does not reach Wolverine");
        Assert.DoesNotContain(received, r => Contains(r.Body, "QvzTrace") || Contains(r.Body, "198.51.100.203"));

        bool Has(string path, string text) => received.Any(r => r.Path == path && Contains(r.Body, text));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
