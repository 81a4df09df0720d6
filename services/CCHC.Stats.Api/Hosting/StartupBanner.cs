using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CCHC.Stats.Api.Hosting;

/// <summary>Prints where to look once the service listens.</summary>
public static class StartupBanner
{
    public static void Print(WebApplication app, LocalPostgres? embedded)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? "http://localhost:5000";
        address = address.Replace("0.0.0.0", "localhost").Replace("[::]", "localhost").Replace("+", "localhost");
        var lines = new List<string>
        {
            "",
            "CCHC.Stats is running.",
            embedded is null ? "  database:  ConnectionStrings__Postgres" : $"  database:  embedded PostgreSQL on 127.0.0.1:{embedded.Port} (.data/postgres)",
            $"  counters:  {address}/api/v1/sites/demo/counters",
            $"  a view:    curl -X POST -H 'Content-Type: application/json' -d '{{\"url\":\"http://localhost/\"}}' {address}/api/v1/sites/demo/views",
            $"  health:    {address}/health/ready",
            $"  metrics:   {address}/metrics",
            "",
        };
        Console.WriteLine(string.Join(Environment.NewLine, lines));
    }
}
