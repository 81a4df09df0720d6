using System.Globalization;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Pages;
using CCHC.Stats.Api.Sites;
using Marten;

namespace CCHC.Stats.Api.Audit;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/verify?from=&amp;to=</c> (auditor key): recounts every period in the range from the
/// raw events, compares with the live counters, and recomputes each sealed day's hash chain.
/// </summary>
/// <remarks>
/// Days in the range are compared one by one; a week, month or year that overlaps the range is recounted
/// whole (all its days), and the all-time total always. Counted views and baselines are compared apart (the counters
/// keep them apart): a period's baseline figures must be those of the site's baselines that stand (not withdrawn),
/// metrics <c>baselinePageViews</c> and <c>baselineVisits</c>. Pages are recounted the same way, each view given its
/// page by <see cref="PageIdentity"/>: a difference names its <c>page</c> (null for the site's own figures), and a page's
/// all-time baseline must be the sum of its page baselines. So are the visits by source, each visit given the source
/// of its first view by <see cref="Traffic.VisitSource"/>: a difference names its <c>source</c>.
/// </remarks>
public static class VerifyCounters
{
    public sealed record Difference(string Period, string Key, string Metric, long Live, long Recount, string? Page = null, string? Source = null);

    public sealed record BrokenSeal(string Day, string Reason);

    public sealed record Report(bool Healthy, IReadOnlyList<Difference> Differences, IReadOnlyList<BrokenSeal> BrokenSeals);

    public static async Task<IResult> Handle(KnownSite? site, string? from, string? to, CountStore counts,
        ViewHistory history, SiteBaselines baselines, PageBaselines pageBaselines, DaySeals seals, TimeProvider clock, CancellationToken ct)
    {
        var siteId = site!.Id;

        var range = AuditRange.Parse(from, to);
        if (range.Problem is not null)
        {
            return range.Problem;
        }

        var zone = site.Zone;
        var firstDay = range.From is { } f ? SiteCalendar.LocalDay(f, zone) : DateOnly.MinValue;
        var lastDay = range.To is { } t ? SiteCalendar.LocalDay(t.AddTicks(-1), zone) : SiteCalendar.LocalDay(clock.GetUtcNow(), zone);

        var recountedWithSources = await history.FiguresWithSourcesAsync(ViewHistory.Range.All(siteId), ct);
        var recounted = recountedWithSources.ToDictionary(d => d.Key, d => d.Value.Figures);
        var standing = (await baselines.OfSiteAsync(siteId, ct)).Where(b => b.Withdrawal is null).ToList();
        var live = await counts.OfSiteAsync(siteId, ct);

        var differences = new List<Difference>();
        var periodsInRange = new HashSet<(PeriodKind, string)>();
        var liveDays = live.Keys.Where(k => k.Period == PeriodKind.Day).Select(k => DateOnly.ParseExact(k.PeriodKey, "yyyy-MM-dd", CultureInfo.InvariantCulture));
        foreach (var day in recounted.Keys.Concat(liveDays)
                     .Concat(standing.Select(b => b.Baseline.Day)).Distinct()
                     .Where(d => d >= firstDay && d <= lastDay))
        {
            foreach (var kind in PeriodKeys.AllKinds)
            {
                periodsInRange.Add((kind, new PeriodKeys(day).Key(kind)));
            }
        }

        foreach (var (kind, key) in periodsInRange.OrderBy(p => p.Item1).ThenBy(p => p.Item2, StringComparer.Ordinal))
        {
            var days = recounted.Where(d => new PeriodKeys(d.Key).Key(kind) == key).Select(d => d.Value).ToList();
            var counter = live.GetValueOrDefault(CountKey.Site(siteId, kind, key));
            var period = CountStore.PeriodName(kind);
            Compare(differences, period, key, "pageViews", counter.PageViews, days.Sum(d => d.PageViews));
            Compare(differences, period, key, "visits", counter.Visits, days.Sum(d => d.Visits));
            if (kind == PeriodKind.Day)
            {
                Compare(differences, period, key, "visitors", counter.Visitors, days.Sum(d => d.Visitors));
            }

            var applying = standing.Where(b => b.IsIn(kind, key)).Select(b => b.Baseline).ToList();
            Compare(differences, period, key, "baselinePageViews", counter.BaselinePageViews, applying.Sum(b => b.PageViews.For(kind)));
            Compare(differences, period, key, "baselineVisits", counter.BaselineVisits, applying.Sum(b => b.Visits.For(kind)));
        }

        await ComparePagesAsync(differences, siteId, periodsInRange, counts, history, pageBaselines, clock, ct);
        await CompareSourcesAsync(differences, siteId, periodsInRange,
            recountedWithSources.ToDictionary(d => d.Key, d => d.Value.VisitsBySource), counts, ct);

        var broken = new List<BrokenSeal>();
        var knownHashes = await seals.AllSealHashesAsync(siteId, ct);
        foreach (var (day, (_, seal)) in (await seals.CurrentSealsAsync(siteId, ct)).Where(s => s.Key >= firstDay && s.Key <= lastDay))
        {
            var (hash, count) = await seals.ChainAsync(siteId, day, seal.PreviousHash, seal.LastSequence, ct);
            var key = day.ToString("yyyy-MM-dd");
            if (count != seal.EventCount)
            {
                broken.Add(new BrokenSeal(key, $"The seal covers {seal.EventCount} events up to sequence {seal.LastSequence}; the store holds {count}."));
            }
            else if (hash != seal.Hash)
            {
                broken.Add(new BrokenSeal(key, "The events of the day no longer hash to the seal: an event was altered."));
            }
            else if (!knownHashes.Contains(seal.PreviousHash))
            {
                broken.Add(new BrokenSeal(key, "The seal does not link to a seal of an earlier day."));
            }
        }

        return Results.Ok(new Report(differences.Count == 0 && broken.Count == 0, differences, broken));
    }

    /// <summary>
    /// Recounts the site's pages from the raw views for the periods in range (all time always) that pages are stored by
    /// (<see cref="CountKey.IsStoredByDay"/>: a page's week is its days) and compares them with the stored page
    /// counts, the pages' all-time baselines with their recorded baselines.
    /// </summary>
    private static async Task ComparePagesAsync(List<Difference> differences, string siteId, HashSet<(PeriodKind, string)> periodsInRange,
        CountStore counts, ViewHistory history, PageBaselines pageBaselines, TimeProvider clock, CancellationToken ct)
    {
        var recount = new Dictionary<(PeriodKind Kind, string Key, string Page), long>();
        var pages = new Dictionary<string, string>(StringComparer.Ordinal);
        await history.ReadUrlsAsync(ViewHistory.Range.All(siteId), (day, url) =>
        {
            if (!pages.TryGetValue(url, out var page))
            {
                pages[url] = page = PageIdentity.Of(url);
            }

            foreach (var (kind, key) in ComparedByDay(day, periodsInRange))
            {
                recount[(kind, key, page)] = recount.GetValueOrDefault((kind, key, page)) + 1;
            }
        }, ct);

        var live = (await counts.PagesOfSiteAsync(siteId, ct))
            .Where(c => IsCompared(c.Key, periodsInRange))
            .ToDictionary(c => (c.Key.Period, c.Key.PeriodKey, c.Key.Key), c => c.Value);
        var baselines = await pageBaselines.SumsAsync(siteId, clock.GetUtcNow() + GetCounters.FutureTolerance, ct);
        foreach (var (kind, key, page) in live.Keys.Concat(recount.Keys).Concat(baselines.Keys.Select(p => (PeriodKind.Total, PeriodKeys.TotalKey, p)))
                     .Distinct().OrderBy(k => k.Item1).ThenBy(k => k.Item2, StringComparer.Ordinal).ThenBy(k => k.Item3, StringComparer.Ordinal))
        {
            var stored = live.GetValueOrDefault((kind, key, page));
            var period = CountStore.PeriodName(kind);
            Compare(differences, period, key, "pageViews", stored.PageViews, recount.GetValueOrDefault((kind, key, page)), page);
            Compare(differences, period, key, "baselinePageViews", stored.BaselinePageViews,
                kind == PeriodKind.Total ? baselines.GetValueOrDefault(page) : 0, page);
        }
    }

    /// <summary>
    /// Compares the stored visits by source for the periods in range that sources are stored by (all time always; a
    /// week is its days) with each recounted day's visits by source.
    /// </summary>
    private static async Task CompareSourcesAsync(List<Difference> differences, string siteId, HashSet<(PeriodKind, string)> periodsInRange,
        Dictionary<DateOnly, Dictionary<string, long>> recountedDays, CountStore counts, CancellationToken ct)
    {
        var recount = new Dictionary<(PeriodKind Kind, string Key, string Source), long>();
        foreach (var (day, sources) in recountedDays)
        {
            foreach (var (kind, key) in ComparedByDay(day, periodsInRange))
            {
                foreach (var (source, visits) in sources)
                {
                    recount[(kind, key, source)] = recount.GetValueOrDefault((kind, key, source)) + visits;
                }
            }
        }

        var live = (await counts.SourcesOfSiteAsync(siteId, ct))
            .Where(c => IsCompared(c.Key, periodsInRange))
            .ToDictionary(c => (c.Key.Period, c.Key.PeriodKey, c.Key.Key), c => c.Value.Visits);
        foreach (var (kind, key, source) in live.Keys.Concat(recount.Keys).Distinct()
                     .OrderBy(k => k.Item1).ThenBy(k => k.Item2, StringComparer.Ordinal).ThenBy(k => k.Item3, StringComparer.Ordinal))
        {
            Compare(differences, CountStore.PeriodName(kind), key, "visits", live.GetValueOrDefault((kind, key, source)),
                recount.GetValueOrDefault((kind, key, source)), source: source);
        }
    }

    /// <summary>
    /// The periods of a dimension stored by day (<see cref="CountKey.IsStoredByDay"/>: pages, sources) that hold
    /// <paramref name="day"/> and are compared: all time always, the others when in range.
    /// </summary>
    private static IEnumerable<(PeriodKind Kind, string Key)> ComparedByDay(DateOnly day, HashSet<(PeriodKind, string)> periodsInRange)
    {
        var periods = new PeriodKeys(day);
        return PeriodKeys.AllKinds.Where(CountKey.IsStoredByDay).Select(kind => (kind, periods.Key(kind)))
            .Where(p => p.kind == PeriodKind.Total || periodsInRange.Contains(p));
    }

    /// <summary>Whether a stored count's period is compared (all time always, the others when in range).</summary>
    private static bool IsCompared(CountKey key, HashSet<(PeriodKind, string)> periodsInRange) =>
        key.Period == PeriodKind.Total || periodsInRange.Contains((key.Period, key.PeriodKey));

    private static void Compare(List<Difference> differences, string period, string key, string metric, long live, long recount, string? page = null,
        string? source = null)
    {
        if (live != recount)
        {
            differences.Add(new Difference(period, key, metric, live, recount, page, source));
        }
    }
}
