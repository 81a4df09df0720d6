using System.Collections.Concurrent;
using Marten;

namespace CCHC.Stats.Api.Sites;

/// <summary>
/// The sites, kept in memory for the ingestion and counter paths. A site is loaded once and then re-read in
/// the background, so other nodes' edits arrive within <see cref="RefreshAfter"/>; an unknown id is
/// remembered briefly so that a flood of views for it does not reach the database.
/// </summary>
public sealed class SiteDirectory(IDocumentStore store, TimeProvider clock)
{
    private static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RememberMissingFor = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Entry> _entries = new();

    private sealed record Entry(Site? Site, TimeZoneInfo? Zone, DateTimeOffset LoadedAt);

    public IEnumerable<Site> Known => _entries.Values.Where(e => e.Site is not null).Select(e => e.Site!);

    public async ValueTask<Site?> FindAsync(string siteId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_entries.TryGetValue(siteId, out var entry))
        {
            var age = now - entry.LoadedAt;
            if (entry.Site is null ? age < RememberMissingFor : age < RefreshAfter)
            {
                return entry.Site;
            }
        }

        await using var session = store.QuerySession();
        var site = await session.LoadAsync<Site>(siteId, ct);
        _entries[siteId] = new Entry(site, site?.Zone(), now);
        return site;
    }

    public TimeZoneInfo ZoneOf(Site site) =>
        _entries.TryGetValue(site.Id, out var entry) && entry.Zone is not null && entry.Site?.TimeZone == site.TimeZone
            ? entry.Zone
            : site.Zone();

    /// <summary>Takes a site just written on this node, so it is served at once.</summary>
    public void Remember(Site site) => _entries[site.Id] = new Entry(site, site.Zone(), clock.GetUtcNow());

    /// <summary>Loads every site (at start, and for the counter refresher).</summary>
    public async Task LoadAllAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var all = await session.Query<Site>().ToListAsync(ct);
        var now = clock.GetUtcNow();
        foreach (var site in all)
        {
            _entries[site.Id] = new Entry(site, site.Zone(), now);
        }
    }
}
