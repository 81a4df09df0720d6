using CCHC.Stats.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);

// No database configured: a local developer run. Start our own PostgreSQL from the machine's binaries in
// .data/postgres, create the demo site, and make up keys for this run (printed at start).
var connectionString = builder.Configuration.GetConnectionString("Postgres");
LocalPostgres? embedded = null;
if (string.IsNullOrEmpty(connectionString))
{
    embedded = await LocalPostgres.StartAsync(builder.Configuration["Stats:EmbeddedDataDir"] ?? ".data/postgres",
        builder.Configuration.GetValue("Stats:EmbeddedPort", 55432));
    connectionString = embedded.ConnectionString;
    LocalRun.Configure(builder.Configuration);
}

builder.AddStats(connectionString);

var app = builder.Build();
app.MapStats();
app.Lifetime.ApplicationStarted.Register(() => StartupBanner.Print(app, embedded));
await app.RunAsync();
if (embedded is not null)
{
    await embedded.StopAsync();
}

/// <summary>The entry point, visible to the integration tests' host factory.</summary>
public partial class Program;
