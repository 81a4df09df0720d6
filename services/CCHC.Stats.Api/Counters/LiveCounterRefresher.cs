using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// Keeps <see cref="LiveCounters"/> fresh on this node: every <see cref="StatsOptions.CounterRefreshInterval"/>, and
/// as soon as this node's projection commits a page (<see cref="CounterCommits"/>), it reads the period counters of
/// every site (one statement) and re-takes the snapshot of each site that needs it.
/// </summary>
/// <remarks>
/// <para>
/// A snapshot is one moment (the contract's "one response is one moment"): it is replaced whole, its counters and its
/// "online now" read in one batch, the counters first. Under PostgreSQL's read committed each statement sees every
/// commit before it starts, so the online count sees at least the views the counters include: a visitor whose view
/// is counted in the day within the online window is counted online. A snapshot's <c>asOf</c> is the moment it was
/// taken.
/// </para>
/// <para>
/// A site's snapshot is re-taken when its counters moved (at once, unless it was taken less than half a
/// <see cref="StatsOptions.CounterRefreshInterval"/> ago: then at the next refresh after that, at the latest the next
/// tick), and every
/// <see cref="StatsOptions.OnlineRefreshInterval"/> even when they did not, since visitors leave the online window
/// as time passes. Otherwise the shown snapshot stays as it is.
/// </para>
/// <para>
/// Counting the visitors in a site's window reads each of them (13–18 ms with 20,000 online when it was measured,
/// about 1 ms for a quiet site, mostly planning). So a busy site is counted at most twice per
/// <see cref="StatsOptions.CounterRefreshInterval"/> (4–7 % of a database core at 20,000 online with the default), and a quiet one
/// only when it has new views or every <see cref="StatsOptions.OnlineRefreshInterval"/>: counting every site at
/// every tick would spend a core on counting nobody in a deployment with hundreds of sites.
/// </para>
/// </remarks>
public sealed class LiveCounterRefresher(
    MartenTables tables,
    NpgsqlDataSource database,
    CountStore counts,
    VisitorDayStore visitorDays,
    SiteDirectory sites,
    LiveCounters live,
    CounterCommits commits,
    TimeProvider clock,
    IOptions<StatsOptions> options,
    ILogger<LiveCounterRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await sites.LoadAllAsync(stoppingToken);
                await RefreshChangedAsync(sites.Known.ToList(), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database is away: keep serving the last figures, try again next tick.
                logger.LogWarning(e, "Could not refresh the live counters; serving the last ones");
            }

            await commits.WaitAsync(options.Value.CounterRefreshInterval, clock, stoppingToken);
        }
    }

    /// <summary>One site's live figures, taken now; null while a rebuild runs and nothing was served before.</summary>
    public async Task<LiveCounters.Snapshot?> RefreshOneAsync(Site site, CancellationToken ct) =>
        (await RefreshAsync([site], ct)).FirstOrDefault();

    /// <summary>Takes and publishes the snapshots of the given sites now, whether or not they moved; answers them.</summary>
    public Task<IReadOnlyList<LiveCounters.Snapshot>> RefreshAsync(IReadOnlyList<Site> targets, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        return TakeAsync(targets.Select(site => Plan(site, now)).ToList(), ct);
    }

    /// <summary>
    /// The periodic refresh: reads every site's counters, then re-takes the snapshots of the sites whose counters moved
    /// or whose snapshot is due (see the remarks).
    /// </summary>
    private async Task RefreshChangedAsync(IReadOnlyList<Site> targets, CancellationToken ct)
    {
        if (targets.Count == 0)
        {
            return;
        }

        var now = clock.GetUtcNow();
        var plans = targets.Select(site => Plan(site, now)).ToList();
        Dictionary<CountKey, Counts> stored;
        await using (var batch = database.CreateBatch())
        {
            // The counters and the rebuild's state in one round trip, as TakeAsync reads the state with the online counts.
            batch.BatchCommands.Add(counts.ReadCommand(plans.SelectMany(p => p.Keys).ToList()));
            batch.BatchCommands.Add(tables.RebuildRunningCommand());
            await using var reader = await batch.ExecuteReaderAsync(ct);
            stored = await CountStore.ReadAsync(reader, ct);
            await reader.NextResultAsync(ct);
            await reader.ReadAsync(ct);
            live.Rebuilding = reader.GetInt64(0) > 0;
        }

        if (live.Rebuilding)
        {
            return;
        }

        var due = plans.Where(plan => SnapshotDue(plan, now, stored)).ToList();
        await TakeAsync(due, ct);
    }

    private bool SnapshotDue(SitePlan plan, DateTimeOffset now, IReadOnlyDictionary<CountKey, Counts> counters)
    {
        if (!live.TryGet(plan.Site.Id, out var shown))
        {
            return true;
        }

        var age = now - shown.Counters.AsOf;
        if (age >= options.Value.OnlineRefreshInterval)
        {
            return true;
        }

        var moved = !SameFigures(Build(plan, shown.Counters.Online, counters), shown.Counters);
        return moved && age >= options.Value.CounterRefreshInterval / 2;
    }

    /// <summary>
    /// Takes and publishes the snapshots of the given sites: their counters, then the rebuild's state and their online
    /// counts in one batch (see the remarks). While the counters are being rebuilt, the figures from before are kept:
    /// never half-counted ones. Who is online is not counted then, even to be thrown away: the rebuild drops the index
    /// that finds them (<see cref="VisitorDayStore.OnlineIndexSql"/>), so while the last look found a rebuild running,
    /// the state is looked at alone first.
    /// </summary>
    private async Task<IReadOnlyList<LiveCounters.Snapshot>> TakeAsync(IReadOnlyList<SitePlan> plans, CancellationToken ct)
    {
        if (plans.Count == 0)
        {
            return [];
        }

        if (live.Rebuilding)
        {
            await using var state = database.CreateBatch();
            state.BatchCommands.Add(tables.RebuildRunningCommand());
            live.Rebuilding = (long)(await state.ExecuteScalarAsync(ct))! > 0;
            if (live.Rebuilding)
            {
                return Kept(plans);
            }
        }

        var stored = await counts.ReadAsync(plans.SelectMany(p => p.Keys).ToList(), ct);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.RebuildRunningCommand());
        foreach (var plan in plans)
        {
            batch.BatchCommands.Add(visitorDays.OnlineCommand([plan.Site.Id], OnlineWindow.Before(plan.Now, plan.Site.OnlineWindowMinutes)));
        }

        var values = new long[plans.Count + 1];
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            for (var i = 0; i < values.Length; i++)
            {
                await reader.ReadAsync(ct);
                values[i] = reader.GetInt64(0);
                await reader.NextResultAsync(ct);
            }
        }

        live.Rebuilding = values[0] > 0;
        if (live.Rebuilding)
        {
            return Kept(plans);
        }

        var published = new List<LiveCounters.Snapshot>(plans.Count);
        for (var i = 0; i < plans.Count; i++)
        {
            published.Add(live.Publish(Build(plans[i], values[i + 1], stored)));
        }

        return published;
    }

    /// <summary>The snapshots shown of the given sites (none of a site not shown yet).</summary>
    private List<LiveCounters.Snapshot> Kept(IReadOnlyList<SitePlan> plans) =>
        plans.Select(p => live.TryGet(p.Site.Id, out var kept) ? kept : null).OfType<LiveCounters.Snapshot>().ToList();

    /// <summary>What one site's snapshot is read for: its zone, its local day at <see cref="Now"/>, and its periods' keys.</summary>
    private sealed record SitePlan(Site Site, TimeZoneInfo Zone, DateTimeOffset Now, DateOnly Day, CountKey[] Keys);

    private SitePlan Plan(Site site, DateTimeOffset now)
    {
        var zone = sites.ZoneOf(site);
        var day = SiteCalendar.LocalDay(now, zone);
        return new SitePlan(site, zone, now, day, CounterBook.PeriodKeysOf(site.Id, day));
    }

    /// <summary>Whether two responses show the same figures, whatever their moments.</summary>
    private static bool SameFigures(CountersResponse a, CountersResponse b) => a with { AsOf = default } == b with { AsOf = default };

    private static CountersResponse Build(SitePlan plan, long online, IReadOnlyDictionary<CountKey, Counts> counters)
    {
        PeriodFigures Figures(CountKey key)
        {
            var c = counters.GetValueOrDefault(key);
            return new PeriodFigures(key.PeriodKey, c.ShownPageViews, c.ShownVisits, key.Period == PeriodKind.Day ? c.Visitors : null);
        }

        var keys = plan.Keys; // in PeriodKeys.AllKinds order
        return new CountersResponse(plan.Site.Id, plan.Site.TimeZone, SiteCalendar.ToLocal(plan.Now, plan.Zone), online,
            Figures(keys[0]), Figures(keys[1]), Figures(keys[2]), Figures(keys[3]), Figures(keys[4]));
    }
}
