using CCHC.Stats.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);

// No database configured: run our own PostgreSQL from the machine's binaries in a local folder.
var connectionString = builder.Configuration.GetConnectionString("Postgres");
LocalPostgres? embedded = null;
if (string.IsNullOrEmpty(connectionString))
{
    embedded = await LocalPostgres.StartAsync(builder.Configuration["Stats:EmbeddedDataDir"] ?? ".data/postgres",
        builder.Configuration.GetValue("Stats:EmbeddedPort", 55432));
    connectionString = embedded.ConnectionString;
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
