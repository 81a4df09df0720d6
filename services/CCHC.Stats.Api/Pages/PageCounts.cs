using System.Collections.Concurrent;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Npgsql;

namespace CCHC.Stats.Api.Pages;

/// <summary>
/// The figures of a site's pages, live or as they stood at a moment, read from the counts the engine stored
/// (<see cref="CounterBook"/> counts a view for its page as for its site).
/// </summary>
/// <remarks>
/// <para>Live: one page's figures are one read by primary key (its rows of today, of this week's days, of this month,
/// year and all time: <see cref="CountKey.IsStoredByDay"/>); the most-read list of today is today's rows of the site's
/// pages, ranked; of a week, month, year or all time, the period's views before today (read once, <see cref="ClosedPart"/>)
/// with today's rows added. Both are kept in memory and read again in the background (a page every <see cref="LiveFor"/>,
/// a list every <see cref="ListsFor"/>) while readers come, so a popular article read by every visitor costs the
/// database one read a second and none of its readers a wait, and a list's refresh reads the pages viewed today, not
/// every page of its period.</para>
/// <para><c>asOf</c> a moment T: the local day D containing T is recounted from its raw views up to T, each given its
/// page by <see cref="PageIdentity"/> (pages have no hours stored); a longer period adds what was counted in it before D,
/// from the same stored rows as the site's <c>asOf</c> (<see cref="CountStore.PeriodsBeforeDayCommand"/>: the days, months
/// and years before D, so a read does not grow with the history); all time adds the page baselines that count at T
/// (<see cref="PageBaselines"/>). The most-read list of a long period sums those rows of every page (a range of the same
/// index).</para>
/// </remarks>
public sealed class PageCounts(NpgsqlDataSource database, CountStore counts, ViewHistory history, PageBaselines baselines, CountersAsOf asOf,
    MartenTables tables, LiveCounters live, Audit.RebuildCounters rebuild, TimeProvider clock)
{
    /// <summary>
    /// Each page's live figures with their JSON and ETag, read again in the background once a second while readers come
    /// (the last ones served meanwhile, so a busy article's readers never wait for the database), read afresh when older
    /// than the responses' max-age.
    /// </summary>
    private readonly RefreshedReads<(string SiteId, string Page), CacheableJson.Made<PageViewsResponse>> _pages = new(clock, LiveFor, ListsFor);

    /// <summary>
    /// Each site's and period's longest list (<see cref="GetTopPages.MaxLimit"/>; a shorter one is its start), read
    /// again in the background every <see cref="ListsFor"/>, the last one served meanwhile, so no reader waits for the
    /// database but a list's first.
    /// </summary>
    private readonly RefreshedReads<(string SiteId, PeriodKind Period), LiveTop> _tops = new(clock, ListsFor, TimeSpan.FromMinutes(1));

    /// <summary>
    /// Each site's page views by page before today in its week, month, year and all time (<see cref="TopBeforeAndTodayAsync"/>):
    /// reading them reads every page of the period (0.64 s for a year of 100,000 pages on pages.sh's store, its rows among
    /// the pages' day rows: docs/BENCHMARKS.md), so they are read once a day, again
    /// when a late view or a page baseline moved them, and at least every <see cref="ClosedDaysFor"/> (a rebuild's repairs
    /// reach them then).
    /// </summary>
    private readonly ConcurrentDictionary<(string SiteId, PeriodKind Period), ClosedPart> _closed = new();

    /// <summary>How long the page views before today are used before they are read again whatever happened.</summary>
    public static readonly TimeSpan ClosedDaysFor = TimeSpan.FromMinutes(10);

    /// <summary>How old a most-read list may get: the responses' max-age (a list changes slowly; a page's count does not).</summary>
    public static readonly TimeSpan ListsFor = TimeSpan.FromSeconds(GetCounters.MaxAgeSeconds);

    /// <summary>How long a live read is kept: well under the responses' max-age, so a reader sees a view within a few seconds.</summary>
    public static readonly TimeSpan LiveFor = TimeSpan.FromSeconds(1);

    private static readonly PeriodKind[] Periods = PeriodKeys.AllKinds;

    /// <summary>Whether the stored counts are being rebuilt: live reads give nothing meanwhile (never half-counted figures).</summary>
    private bool Rebuilding => live.Rebuilding || rebuild.RunsHere;

    /// <summary>A page's figures as an answer, its ETag over the figures, not the moment.</summary>
    public static CacheableJson.Made<PageViewsResponse> Answer(PageViewsResponse figures) =>
        CacheableJson.Made<PageViewsResponse>.Of(figures, CacheableJson.ETagOf(figures with { AsOf = default }));

    /// <summary>
    /// One page's live figures: its rows of today, this week's days, this month, year and all time, in one read; null
    /// while the counts are rebuilt.
    /// </summary>
    /// <remarks>Readers of one page share one read: it runs to its end whoever of them gives up.</remarks>
    public async Task<CacheableJson.Made<PageViewsResponse>?> LiveAsync(KnownSite site, string page) => Rebuilding ? null : await _pages.GetOrReadAsync((site.Id, page), async _ =>
        {
            var ct = CancellationToken.None;
            var now = clock.GetUtcNow();
            var periods = new PeriodKeys(SiteCalendar.LocalDay(now, site.Zone));
            var week = DaysOfWeekTo(periods).Select(d => CountKey.Page(site.Id, page, PeriodKind.Day, new PeriodKeys(d).Key(PeriodKind.Day))).ToList();
            var others = new[] { PeriodKind.Month, PeriodKind.Year, PeriodKind.Total }.Select(k => CountKey.Page(site.Id, page, k, periods.Key(k))).ToList();
            await using var batch = database.CreateBatch();
            batch.BatchCommands.Add(counts.ReadCommand([.. week, .. others]));
            batch.BatchCommands.Add(counts.TitlesCommand(site.Id, [page]));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            var stored = await CountStore.ReadAsync(reader, ct);
            await reader.NextResultAsync(ct);
            var titles = await ReadTitlesAsync(reader, ct);
            long Shown(CountKey key) => stored.GetValueOrDefault(key).ShownPageViews;
            return Answer(Response(site, page, titles.GetValueOrDefault(page), now,
            [
                (periods.Key(PeriodKind.Day), Shown(week[^1])), (periods.Key(PeriodKind.Week), week.Sum(Shown)),
                (others[0].PeriodKey, Shown(others[0])), (others[1].PeriodKey, Shown(others[1])), (others[2].PeriodKey, Shown(others[2])),
            ]));
        });

    /// <summary>One page's figures as they stood at <paramref name="moment"/>; null while the counters are catching up.</summary>
    public async Task<PageViewsResponse?> AsOfAsync(KnownSite site, string page, DateTimeOffset moment, CancellationToken ct)
    {
        if (await FiguresAsOfAsync(site, page, moment, only: null, ct) is not { } figures)
        {
            return null;
        }

        var periods = new PeriodKeys(SiteCalendar.LocalDay(moment, site.Zone));
        var mine = figures.GetValueOrDefault(page) ?? new long[Periods.Length];
        string? title;
        await using (var batch = database.CreateBatch())
        {
            batch.BatchCommands.Add(counts.TitlesCommand(site.Id, [page]));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            title = (await ReadTitlesAsync(reader, ct)).GetValueOrDefault(page);
        }

        return Response(site, page, title, moment, Periods.Select(kind => (periods.Key(kind), mine[(int)kind])).ToList());
    }

    /// <summary>A period's longest list as read, and its answers for each length, made as they are first asked for.</summary>
    private sealed class LiveTop(TopPagesResponse longest)
    {
        private readonly CacheableJson.Made<TopPagesResponse>?[] _answers = new CacheableJson.Made<TopPagesResponse>?[GetTopPages.MaxLimit + 1];

        public CacheableJson.Made<TopPagesResponse> Of(int limit) => _answers[limit] ??=
            CacheableJson.Made<TopPagesResponse>.Of(longest.Pages.Count <= limit ? longest : longest with { Pages = longest.Pages.Take(limit).ToList() });
    }

    /// <summary>The live most-read list of a period, made once for each length; null while the counts are rebuilt.</summary>
    public async Task<CacheableJson.Made<TopPagesResponse>?> TopAsync(KnownSite site, PeriodKind period, int limit)
    {
        if (Rebuilding)
        {
            _closed.Clear(); // read again from the rebuilt counts
            return null;
        }

        var longest = await _tops.GetOrReadAsync((site.Id, period), async _ =>
        {
            var ct = CancellationToken.None;
            var periods = new PeriodKeys(SiteCalendar.LocalDay(clock.GetUtcNow(), site.Zone));
            var key = periods.Key(period);
            List<(string Page, long Views)> top;
            if (period == PeriodKind.Day)
            {
                await using var batch = database.CreateBatch();
                batch.BatchCommands.Add(counts.PagesOfDayCommand(site.Id, periods.Day));
                await using var reader = await batch.ExecuteReaderAsync(ct);
                top = ClosedPart.Nothing.With(await ReadPagesAsync(reader, ct), GetTopPages.MaxLimit);
            }
            else
            {
                top = await TopBeforeAndTodayAsync(site, period, periods, ct);
            }

            return new LiveTop(await WithTitlesAsync(site, period, key, top, ct));
        });
        return longest.Of(limit);
    }

    /// <summary>
    /// The live most-read list of a week, month, year or all time: the period's page views before today
    /// (<see cref="ClosedPart"/>, read again only when they moved) with today's rows added, ranked as a list is (views
    /// descending, then page). So a refresh reads the pages viewed today, not every page of the period.
    /// </summary>
    /// <remarks>
    /// The closed part moves when a late view lands on a day before today, which moves the site's own figures of those
    /// days (every view of a page is a view of its site), and when a page baseline is applied (all time only). The site's
    /// figures are read before the pages' rows, and the counter projection's mark before them too, so what the closed
    /// part was read with never claims more than it holds: at worst it is read once more.
    /// </remarks>
    private async Task<List<(string Page, long Views)>> TopBeforeAndTodayAsync(KnownSite site, PeriodKind period, PeriodKeys periods, CancellationToken ct)
    {
        // The site's own rows whose page views tell whether the part before today moved: the week's closed days, or a
        // stored period's row and today's.
        var siteKeys = period == PeriodKind.Week
            ? DaysOfWeekTo(periods).Where(d => d < periods.Day).Select(d => CountKey.Site(site.Id, PeriodKind.Day, new PeriodKeys(d).Key(PeriodKind.Day))).ToList()
            : [CountKey.Site(site.Id, period, periods.Key(period)), CountKey.Site(site.Id, PeriodKind.Day, periods.Key(PeriodKind.Day))];
        Dictionary<CountKey, Counts> siteFigures;
        long newestBaseline = 0;
        List<(string Page, long Views)> today;
        await using (var batch = database.CreateBatch())
        {
            batch.BatchCommands.Add(counts.ReadCommand(siteKeys));
            if (period == PeriodKind.Total)
            {
                batch.BatchCommands.Add(baselines.NewestCommand(site.Id));
            }

            batch.BatchCommands.Add(counts.PagesOfDayCommand(site.Id, periods.Day));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            siteFigures = await CountStore.ReadAsync(reader, ct);
            if (period == PeriodKind.Total)
            {
                await reader.NextResultAsync(ct);
                await reader.ReadAsync(ct);
                newestBaseline = reader.GetInt64(0);
            }

            await reader.NextResultAsync(ct);
            today = await ReadPagesAsync(reader, ct);
        }

        // The site's page views before today: of the week's closed days one by one, of a stored period its row less today's.
        long Views(CountKey key) => siteFigures.GetValueOrDefault(key).PageViews;
        var before = period == PeriodKind.Week ? string.Join(',', siteKeys.Select(Views)) : (Views(siteKeys[0]) - Views(siteKeys[1])).ToString();
        var signature = $"{periods.Key(PeriodKind.Day)}:{before}";
        if (!_closed.TryGetValue((site.Id, period), out var closed) || closed.Signature != signature || closed.Applied < newestBaseline
            || clock.GetElapsedTime(closed.ReadAt) >= ClosedDaysFor)
        {
            long applied;
            List<(string Page, long Views)> pages;
            await using (var batch = database.CreateBatch())
            {
                batch.BatchCommands.Add(tables.CountersCommand());
                batch.BatchCommands.Add(period == PeriodKind.Week
                    ? counts.TopPagesOverDaysCommand(site.Id, periods.FirstDay(PeriodKind.Week), periods.Day.AddDays(-1), int.MaxValue)
                    : counts.PagesBeforeDayCommand(site.Id, period, periods.Key(period), periods.Day));
                await using var reader = await batch.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                applied = reader.GetInt64(0);
                await reader.NextResultAsync(ct);
                pages = period == PeriodKind.Week ? await ReadPagesAsync(reader, ct) : await CountStore.ReadPagesBeforeDayAsync(reader, ct);
            }

            _closed[(site.Id, period)] = closed = new ClosedPart(signature, applied, clock.GetTimestamp(),
                pages.Where(p => p.Views > 0).OrderByDescending(p => p.Views).ThenBy(p => p.Page, StringComparer.Ordinal).ToList());
        }

        return closed.With(today, GetTopPages.MaxLimit);
    }

    /// <summary>The most-read list of a period as it stood at <paramref name="moment"/>; null while the counters are catching up.</summary>
    public async Task<TopPagesResponse?> TopAsOfAsync(KnownSite site, PeriodKind period, int limit, DateTimeOffset moment, CancellationToken ct)
    {
        if (await FiguresAsOfAsync(site, null, moment, only: period, ct) is not { } figures)
        {
            return null;
        }

        var top = figures.Select(f => (Page: f.Key, Views: f.Value[(int)period])).Where(f => f.Views > 0)
            .OrderByDescending(f => f.Views).ThenBy(f => f.Page, StringComparer.Ordinal).Take(limit).ToList();
        return await WithTitlesAsync(site, period, new PeriodKeys(SiteCalendar.LocalDay(moment, site.Zone)).Key(period), top, ct);
    }

    /// <summary>
    /// The figures at <paramref name="moment"/> of one page, or of every page, by <see cref="PeriodKind"/> (see the remarks),
    /// of every period, or <paramref name="only"/> of one (the others then hold the day's alone): one batch of three
    /// statements (two without all time), read once the counters have caught up (<see cref="CountersAsOf.ReadCaughtUpAsync"/>);
    /// null when they do not. Every page's is a wide read: it never holds the last of the as-of turns.
    /// </summary>
    private Task<Dictionary<string, long[]>?> FiguresAsOfAsync(KnownSite site, string? page, DateTimeOffset moment, PeriodKind? only, CancellationToken ct)
    {
        var day = SiteCalendar.LocalDay(moment, site.Zone);
        var withTotal = only is null or PeriodKind.Total;
        return asOf.ReadCaughtUpAsync(batch =>
        {
            batch.BatchCommands.Add(history.UrlsCommand(new ViewHistory.Range(site.Id, day, day, UpTo: moment)));
            batch.BatchCommands.Add(counts.PeriodsBeforeDayCommand(site.Id, CountKey.PageDimension, page, day, only));
            if (withTotal)
            {
                batch.BatchCommands.Add(baselines.Command(site.Id, page));
            }
        }, async reader =>
        {
            var figures = new Dictionary<string, long[]>(StringComparer.Ordinal);
            long[] Of(string p) => figures.TryGetValue(p, out var f) ? f : figures[p] = new long[Periods.Length];
            while (await reader.ReadAsync(ct))
            {
                var viewed = PageIdentity.Of(reader.GetString(1));
                if (page is null || viewed == page)
                {
                    Of(viewed)[(int)PeriodKind.Day]++;
                }
            }

            // Every longer period holds the day.
            foreach (var f in figures.Values)
            {
                f[(int)PeriodKind.Week] = f[(int)PeriodKind.Month] = f[(int)PeriodKind.Year] = f[(int)PeriodKind.Total] = f[(int)PeriodKind.Day];
            }

            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var f = Of(reader.GetString(0));
                foreach (var kind in Periods)
                {
                    f[(int)kind] += CountStore.BeforeDay(reader, kind).PageViews;
                }
            }

            if (withTotal)
            {
                await reader.NextResultAsync(ct);
                foreach (var (p, views) in await PageBaselines.ReadSumsAsync(reader, moment, ct))
                {
                    Of(p)[(int)PeriodKind.Total] += views;
                }
            }

            return figures;
        }, wide: page is null, ct);
    }

    /// <summary>The days of <paramref name="periods"/>' week up to its day.</summary>
    private static IEnumerable<DateOnly> DaysOfWeekTo(PeriodKeys periods)
    {
        for (var d = periods.FirstDay(PeriodKind.Week); d <= periods.Day; d = d.AddDays(1))
        {
            yield return d;
        }
    }

    private async Task<TopPagesResponse> WithTitlesAsync(KnownSite site, PeriodKind period, string key, IReadOnlyList<(string Page, long Views)> top,
        CancellationToken ct)
    {
        var titles = new Dictionary<string, string>();
        if (top.Count > 0)
        {
            await using var batch = database.CreateBatch();
            batch.BatchCommands.Add(counts.TitlesCommand(site.Id, top.Select(t => t.Page).ToList()));
            await using var reader = await batch.ExecuteReaderAsync(ct);
            titles = await ReadTitlesAsync(reader, ct);
        }

        return new TopPagesResponse(new TopPagesPeriod(CountStore.PeriodName(period), key),
            top.Select(t => new TopPage(t.Page, titles.GetValueOrDefault(t.Page), t.Views)).ToList());
    }

    /// <summary>Rows of two columns, a page and its views.</summary>
    private static async Task<List<(string Page, long Views)>> ReadPagesAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var pages = new List<(string Page, long Views)>();
        while (await reader.ReadAsync(ct))
        {
            pages.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return pages;
    }

    private static async Task<Dictionary<string, string>> ReadTitlesAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            titles[reader.GetString(0)] = reader.GetString(1);
        }

        return titles;
    }

    private static PageViewsResponse Response(KnownSite site, string page, string? title, DateTimeOffset moment, IReadOnlyList<(string Key, long Views)> periods)
    {
        PagePeriodFigures F(int i) => new(periods[i].Key, periods[i].Views);
        return new PageViewsResponse(site.Id, page, title, SiteCalendar.ToLocal(moment, site.Zone), F(0), F(1), F(2), F(3), F(4));
    }
}

/// <summary>
/// A site's page views by page in one period before today, ranked (views descending, then page), as they stood when the
/// site's own figures before today read <paramref name="Signature"/> and the counter projection had applied the events up
/// to <paramref name="Applied"/>.
/// </summary>
internal sealed record ClosedPart(string Signature, long Applied, long ReadAt, IReadOnlyList<(string Page, long Views)> Ranked)
{
    /// <summary>No views before today: a day's list is its pages ranked.</summary>
    public static readonly ClosedPart Nothing = new("", 0, 0, []);

    private readonly Dictionary<string, long> _views = Ranked.ToDictionary(p => p.Page, p => p.Views, StringComparer.Ordinal);

    /// <summary>The period's first <paramref name="limit"/> pages once <paramref name="today"/>'s views are added.</summary>
    public List<(string Page, long Views)> With(IReadOnlyList<(string Page, long Views)> today, int limit)
    {
        var viewedToday = new HashSet<string>(today.Select(t => t.Page), StringComparer.Ordinal);
        return today.Select(t => (t.Page, Views: t.Views + _views.GetValueOrDefault(t.Page)))
            .Concat(Ranked.Where(p => !viewedToday.Contains(p.Page)).Take(limit))
            .OrderByDescending(p => p.Views).ThenBy(p => p.Page, StringComparer.Ordinal)
            .Take(limit).ToList();
    }
}
