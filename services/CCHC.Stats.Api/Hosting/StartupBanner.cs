using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Hosting;

/// <summary>Settings of a local run on the embedded database: a demo site, and keys made up for the run.</summary>
public static class LocalRun
{
    public static void Configure(ConfigurationManager configuration)
    {
        var defaults = new Dictionary<string, string?> { ["Stats:SeedDemoSite"] = "true" };
        foreach (var key in new[] { "AdminKey", "AuditorKey", "IngestKey" })
        {
            if (string.IsNullOrEmpty(configuration[$"Stats:{key}"]))
            {
                defaults[$"Stats:{key}"] = $"dev-{key.Replace("Key", "").ToLowerInvariant()}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
            }
        }

        configuration.AddInMemoryCollection(defaults);
    }
}

/// <summary>Prints where to look once the service listens.</summary>
public static class StartupBanner
{
    public static void Print(WebApplication app, LocalPostgres? embedded)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? "http://localhost:5000";
        address = address.Replace("0.0.0.0", "localhost").Replace("[::]", "localhost").Replace("+", "localhost");
        var options = app.Services.GetRequiredService<IOptions<StatsOptions>>().Value;
        var lines = new List<string>
        {
            "",
            "CCHC.Stats is running.",
            embedded is null ? "  database:   ConnectionStrings__Postgres" : $"  database:   embedded PostgreSQL on 127.0.0.1:{embedded.Port} (data in {embedded.DataDirectory})",
            $"  demo page:  {address}/demo   (the widget: <script async src=\"{address}/widget.js\" data-site=\"demo\"></script>)",
            $"  counters:   {address}/api/v1/sites/demo/counters",
            $"  send view:  curl -A 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0' -H 'Content-Type: application/json' -d '{{\"url\":\"http://localhost/\"}}' {address}/api/v1/sites/demo/views",
            $"  health:     {address}/health/ready",
            $"  metrics:    {address}/metrics",
        };
        if (embedded is not null)
        {
            lines.Add($"  keys:       admin {options.AdminKey} · auditor {options.AuditorKey} · ingest {options.IngestKey} (this run only)");
        }

        lines.Add("");
        Console.WriteLine(string.Join(Environment.NewLine, lines));
    }
}
