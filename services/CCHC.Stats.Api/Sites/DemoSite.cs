using CCHC.Stats.Api.Hosting;
using Marten;
using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Sites;

/// <summary>With <c>Stats:SeedDemoSite</c> (the run command sets it), creates the site <c>demo</c> for local pages.</summary>
public sealed class DemoSite(IDocumentStore store, IOptions<StatsOptions> options, TimeProvider clock) : IHostedService
{
    public const string Id = "demo";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.SeedDemoSite)
        {
            return;
        }

        await using var session = store.LightweightSession();
        if (await session.LoadAsync<Site>(Id, cancellationToken) is not null)
        {
            return;
        }

        var now = clock.GetUtcNow();
        session.Store(new Site
        {
            Id = Id,
            Name = "Cổng thông tin điện tử (demo)",
            AllowedHosts = ["localhost", "127.0.0.1"],
            PublishStats = true,
            CreatedAt = now,
            UpdatedAt = now,
        });
        await session.SaveChangesAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
