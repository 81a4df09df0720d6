using System.Net.Http.Headers;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CCHC.Stats.IntegrationTests.Infrastructure;

/// <summary>
/// The service, hosted in-process against a database of its own on the test PostgreSQL. One instance is
/// shared by the whole assembly; tests stay apart by using sites of their own (<see cref="NewSiteAsync"/>).
/// </summary>
public sealed class StatsApp : IAsyncLifetime
{
    public const string AdminKey = "test-admin-key";
    public const string AuditorKey = "test-auditor-key";
    public const string IngestKey = "test-ingest-key";

    /// <summary>A desktop browser's User-Agent: the bot filter lets it through.</summary>
    public const string BrowserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

    private readonly TestDatabase _database = new();
    private WebApplicationFactory<Program>? _factory;

    public string ConnectionString { get; private set; } = "";

    public TestDatabase Database => _database;

    public IServiceProvider Services => _factory!.Services;

    public async ValueTask InitializeAsync()
    {
        await _database.InitializeAsync();
        ConnectionString = await _database.CreateDatabaseAsync("stats");
        _factory = Create(ConnectionString, new Dictionary<string, string?>());
        _ = _factory.Server;
    }

    /// <summary>What every test host is started with before its own settings: the keys, no rate limit, a quick refresh.</summary>
    private static readonly KeyValuePair<string, string?>[] HostSettings =
    [
        new("Stats:AdminKey", AdminKey),
        new("Stats:AuditorKey", AuditorKey),
        new("Stats:IngestKey", IngestKey),
        new("Stats:ViewsPerClientPerMinute", "0"),
        new("Stats:CounterRefreshInterval", "00:00:00.200"),
    ];

    /// <summary>A host of the service with settings of its own (for the rate limit, for instance).</summary>
    public WebApplicationFactory<Program> Create(string connectionString, IReadOnlyDictionary<string, string?> settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", connectionString);
            foreach (var (key, value) in HostSettings.Concat(settings))
            {
                web.UseSetting(key, value);
            }
        });

    /// <summary>
    /// Starts the service's own composition (what <c>Program.cs</c> does: <c>AddStats</c>, <c>Build</c>, start) with these
    /// settings, for a start expected to fail, and answers how it failed. Not through <see cref="WebApplicationFactory{TEntryPoint}"/>:
    /// when a start fails, its deferred host can dispose the services before the factory has read them, and the caller then
    /// sees that ObjectDisposedException instead of the start's own (dotnet/aspnetcore#33494).
    /// </summary>
    public static async Task<Exception> FailedStartAsync(string connectionString, IReadOnlyDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder();
        foreach (var (key, value) in HostSettings.Concat(settings))
        {
            builder.Configuration[key] = value;
        }

        builder.AddStats(connectionString);
        await using var host = builder.Build();
        return await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
    }

    /// <summary>A client as a browser would be: a browser User-Agent, no key.</summary>
    public HttpClient Browser() => ClientOf(_factory!, null);

    /// <summary>A client carrying a bearer key.</summary>
    public HttpClient WithKey(string key) => ClientOf(_factory!, key);

    /// <summary>A client of any in-process host: a browser User-Agent, and a bearer key if given.</summary>
    public static HttpClient ClientOf(WebApplicationFactory<Program> host, string? key)
    {
        var client = host.CreateClient();
        client.DefaultRequestHeaders.UserAgent.ParseAdd(BrowserAgent);
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>Registers a site of the test's own, allowed on <c>portal.test</c> and its sub-domains.</summary>
    public async Task<string> NewSiteAsync(string timeZone = "Asia/Ho_Chi_Minh", int onlineWindowMinutes = 5, bool publishStats = false)
    {
        var siteId = $"t-{Guid.NewGuid():N}"[..20];
        using var admin = WithKey(AdminKey);
        var response = await admin.PutAsJsonAsync($"/api/v1/sites/{siteId}",
            new SiteRequest("Test portal", timeZone, ["portal.test", "*.portal.test"], onlineWindowMinutes, publishStats));
        response.EnsureSuccessStatusCode();
        return siteId;
    }

    /// <summary>Waits until the async projections have applied every recorded event, then refreshes the live counters.</summary>
    public async Task CatchUpAsync()
    {
        var store = Services.GetRequiredService<IDocumentStore>();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        await Services.GetRequiredService<LiveCounterRefresher>().RefreshAsync(
            Services.GetRequiredService<CCHC.Stats.Api.Sites.SiteDirectory>().Known.ToList(), CancellationToken.None);
    }

    public async Task<CountersResponse> CountersAsync(string siteId, DateTimeOffset? asOf = null)
    {
        using var client = Browser();
        var url = $"/api/v1/sites/{siteId}/counters" + (asOf is null ? "" : $"?asOf={Uri.EscapeDataString(asOf.Value.ToString("O"))}");
        var response = await client.GetAsync(url);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<CountersResponse>())!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}
