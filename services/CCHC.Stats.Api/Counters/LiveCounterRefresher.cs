using System.Collections.Concurrent;
using CCHC.Stats.Api.Audit;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Marten;
using Microsoft.Extensions.Options;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// Keeps <see cref="LiveCounters"/> fresh on this node: every <see cref="StatsOptions.CounterRefreshInterval"/>, and
/// as soon as this node's projection commits a page (<see cref="CounterCommits"/>), it reads the current period
/// counters of every site (one batch of queries) and publishes new snapshots.
/// A site's "online now" is counted afresh every <see cref="StatsOptions.OnlineRefreshInterval"/>, and at the next
/// tick when a site showing 0 online has new views (so that a quiet site's first visitor shows at once); in
/// between the last count is kept.
/// </summary>
/// <remarks>
/// Counting the visitors in a site's window reads each of them (30 ms with 20,000 online when it was measured, 13–18
/// ms since the count reads columns rather than the JSON); at every tick for every busy site that was a tenth of the
/// database's time under full load, for a figure over a 5-minute window.
/// A quiet site's count is cheap but not free (about 1 ms, mostly planning): at every tick for every site, a
/// deployment with hundreds of sites would spend a core on counting nobody.
/// </remarks>
public sealed class LiveCounterRefresher(
    IDocumentStore store,
    SiteDirectory sites,
    LiveCounters live,
    CounterCommits commits,
    TimeProvider clock,
    IOptions<StatsOptions> options,
    ILogger<LiveCounterRefresher> logger) : BackgroundService
{
    /// <summary>When each site's online figure was last counted (on this node), and its all-time page views then.</summary>
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, long PageViews)> _onlineCounted = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await sites.LoadAllAsync(stoppingToken);
                await RefreshAsync(sites.Known.ToList(), OnlineCountDue, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database is away: keep serving the last figures, try again next tick.
                logger.LogWarning(e, "Could not refresh the live counters; serving the last ones");
            }

            await commits.WaitAsync(options.Value.CounterRefreshInterval, clock, stoppingToken);
        }
    }

    /// <summary>One site's live figures, read now; null while a rebuild runs and nothing was served before.</summary>
    public async Task<LiveCounters.Snapshot?> RefreshOneAsync(Site site, CancellationToken ct) =>
        (await RefreshAsync([site], ct)).FirstOrDefault();

    /// <summary>Reads and publishes the live figures of the given sites, online counts included; answers the new snapshots.</summary>
    public Task<IReadOnlyList<LiveCounters.Snapshot>> RefreshAsync(IReadOnlyList<Site> targets, CancellationToken ct) =>
        RefreshAsync(targets, (_, _) => true, ct);

    /// <summary>The periodic refresh's rule: see the class summary.</summary>
    private bool OnlineCountDue(Site site, DateTimeOffset now) =>
        !live.TryGet(site.Id, out var shown)
        || !_onlineCounted.TryGetValue(site.Id, out var counted)
        || now - counted.At >= options.Value.OnlineRefreshInterval
        || (shown.Counters.Online == 0 && shown.Counters.Total.PageViews != counted.PageViews);

    private async Task<IReadOnlyList<LiveCounters.Snapshot>> RefreshAsync(IReadOnlyList<Site> targets, Func<Site, DateTimeOffset, bool> countOnline,
        CancellationToken ct)
    {
        if (targets.Count == 0)
        {
            return [];
        }

        var now = clock.GetUtcNow();
        var plans = targets.Select(site =>
        {
            var zone = sites.ZoneOf(site);
            var day = SiteCalendar.LocalDay(now, zone);
            return (Site: site, Zone: zone, Day: day, Ids: CounterBook.CounterIds(site.Id, day).ToArray(), CountOnline: countOnline(site, now));
        }).ToList();

        await using var session = store.QuerySession();
        var batch = session.CreateBatchQuery();
        var rebuildTask = batch.Load<RebuildStatus>(RebuildStatus.SingletonId);
        var countersTask = batch.LoadMany<PeriodCounter>().ById(plans.SelectMany(p => p.Ids).ToArray());
        var onlineTasks = plans.Select(p =>
        {
            if (!p.CountOnline)
            {
                return null;
            }

            // A visitor-day's last view lies within its day, so the window alone picks today's and yesterday's. The
            // index finds the rows by minute; the exact time is checked on each.
            var since = now - TimeSpan.FromMinutes(p.Site.OnlineWindowMinutes);
            var fromMinute = VisitorDay.MinuteOf(since);
            return batch.Query<VisitorDay>()
                .Where(v => v.SiteId == p.Site.Id && v.LastSeenMinute >= fromMinute && v.LastSeen > since)
                .Count();
        }).ToList();
        await batch.Execute(ct);

        // While the counters are being rebuilt, keep serving the figures from before: never half-counted ones.
        if ((await rebuildTask)?.State == RebuildStatus.Running)
        {
            return plans.Select(p => live.TryGet(p.Site.Id, out var kept) ? kept : null).OfType<LiveCounters.Snapshot>().ToList();
        }

        var counters = (await countersTask).ToDictionary(c => c.Id);
        var published = new List<LiveCounters.Snapshot>(plans.Count);
        for (var i = 0; i < plans.Count; i++)
        {
            var plan = plans[i];
            var counting = onlineTasks[i];
            var online = counting is null ? (live.TryGet(plan.Site.Id, out var shown) ? shown.Counters.Online : 0) : await counting;
            var response = Build(plan.Site, plan.Zone, now, plan.Day, online, counters);
            if (counting is not null)
            {
                _onlineCounted[plan.Site.Id] = (now, response.Total.PageViews);
            }

            published.Add(live.Publish(response));
        }

        return published;
    }

    private static CountersResponse Build(Site site, TimeZoneInfo zone, DateTimeOffset now, DateOnly day, long online,
        IReadOnlyDictionary<string, PeriodCounter> counters)
    {
        var keys = new PeriodKeys(day);
        PeriodFigures Figures(PeriodKind kind)
        {
            var key = keys.Key(kind);
            counters.TryGetValue(PeriodCounter.IdFor(site.Id, kind, key), out var c);
            return new PeriodFigures(
                key,
                (c?.PageViews ?? 0) + (c?.BaselinePageViews ?? 0),
                (c?.Visits ?? 0) + (c?.BaselineVisits ?? 0),
                kind == PeriodKind.Day ? c?.Visitors ?? 0 : null);
        }

        return new CountersResponse(site.Id, site.TimeZone, SiteCalendar.ToLocal(now, zone), online,
            Figures(PeriodKind.Day), Figures(PeriodKind.Week), Figures(PeriodKind.Month), Figures(PeriodKind.Year), Figures(PeriodKind.Total));
    }
}
