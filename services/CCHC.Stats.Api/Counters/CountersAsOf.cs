using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The figures as they stood at a moment T: only events that occurred at or before T, in the periods that
/// contain T. The rule, which an auditor can re-derive from the export:
/// <list type="bullet">
/// <item>the local day D containing T: its closed hours from the stored hour counts, and the closed ten minutes of the
/// hour containing T from the stored ten-minute counts; the ten minutes containing T from their raw views up to T (page
/// views), and the visitor-days of their visitors, as the projection keeps them: the visits that had started in them by T
/// (<see cref="VisitorDay.VisitsStartedIn"/>) and the visitors whose first view of the day is in them;</item>
/// <item>each longer period adds the stored day counts of its days before D (the projection's figures for closed
/// days, counted by the same engine);</item>
/// <item>baselines that count at T (<see cref="StandingBaseline.CountsAt"/>: recorded for a moment at or before T and not
/// withdrawn by T) add their figure to the periods of that kind that contain both;</item>
/// <item>online: <see cref="OnlineWindow"/> over a <see cref="DayRecount"/> of the window's raw views (and the day
/// before's, when the window reaches back into it).</item>
/// </list>
/// So it reads at most ten minutes and the online window of raw events, never a whole day or the history. Before reading it
/// waits until the projection has applied every event recorded before the request, so the closed days and hours and the
/// visitor-days are exact too: one round trip in all when the projection is caught up.
/// </summary>
public sealed class CountersAsOf(NpgsqlDataSource database, ViewHistory history, CountStore counts, VisitorDayStore visitorDays, MartenTables tables,
    SiteBaselines siteBaselines, TimeProvider clock)
{
    /// <summary>How long an as-of read waits for the projection to catch up before it gives up (503).</summary>
    public static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many as-of reads run against the database at once; the others wait their turn, first come first served. A
    /// read is about 1.2 ms of CPU, two thirds of it PostgreSQL's: sixteen at once on two cores made the database juggle
    /// sixteen backends, and a few reads waited 10–30 times the median. One a core keeps each core busy, and one more
    /// is on its way between the service and the database while they run: on two cores, 3 gave a lower p99 than 4 in six
    /// runs of six, and 2 fewer reads a second (docs/BENCHMARKS.md).
    /// </summary>
    public static readonly int ReadersAtOnce = Environment.ProcessorCount + 1;

    private readonly SemaphoreSlim _readers = new(ReadersAtOnce, ReadersAtOnce);

    /// <summary>
    /// How many of those turns wide reads may hold at once: all but one. A wide read ranks every key of a dimension (a
    /// most-read list as of a moment reads each page's rows: about 80 ms for 3,000 pages, where a site's read takes a
    /// millisecond), so a few of them at once would hold every turn, and every other as-of read would wait behind them.
    /// </summary>
    public static readonly int WideReadersAtOnce = Math.Max(1, ReadersAtOnce - 1);

    private readonly SemaphoreSlim _wideReaders = new(WideReadersAtOnce, WideReadersAtOnce);

    /// <summary>A site's figures as of a moment, in the periods of <paramref name="zone"/>; null while the counters cannot be trusted.</summary>
    public async Task<CountersResponse?> ComputeAsync(Site site, TimeZoneInfo zone, DateTimeOffset asOf, CancellationToken ct) =>
        (await ComputeAsync(site, zone, asOf, OnlineWindow.Before(asOf, site.OnlineWindowMinutes), ct))?.Counters;

    /// <summary>
    /// A site's figures as of a moment, and who was online in <paramref name="window"/> (which a group gives, its own):
    /// each visitor with the day of their pseudonym, which changes at local midnight. <see cref="SiteAsOf.Counters"/>'s
    /// <c>online</c> counts them.
    /// </summary>
    public async Task<SiteAsOf?> ComputeAsync(Site site, TimeZoneInfo zone, DateTimeOffset asOf, OnlineWindow window, CancellationToken ct)
    {
        var day = SiteCalendar.LocalDay(asOf, zone);
        var keys = new PeriodKeys(day);

        // The day up to the moment: its closed hours and its open hour's closed ten minutes from the stored counts, and the
        // open ten minutes up to the moment from their raw views. The same read gives who is online: the window's views,
        // and when the window reaches back into the day before, that day's (a visitor's hash changes at local midnight, the
        // daily salt, so the two days' online visitors add up). One statement reads both days: the same statement twice in
        // one batch tripped Npgsql's automatic preparation. PostgreSQL keeps moments to the microsecond: a read starts one
        // before, so a view at the ten minutes' first moment is in them.
        var local = SiteCalendar.ToLocal(asOf, zone);
        var openHour = PeriodKeys.HourOf(local);
        var open = PeriodKeys.TenMinutesOf(local);
        var readFrom = SiteCalendar.ToLocal(Min(open.Start, window.Since), zone);
        var views = new ViewHistory.Range(site.Id, SiteCalendar.LocalDay(readFrom, zone), day, After: readFrom.AddTicks(-TimeSpan.TicksPerMicrosecond),
            UpTo: asOf, FromLocal: readFrom, ToLocal: local);

        return await ReadCaughtUpAsync(batch =>
        {
            // With the views, the open ten minutes' visitors' visitor-days, which the projection has brought up to date.
            batch.BatchCommands.Add(visitorDays.WithVisitorDaysCommand(history.Command(views), site.Id, day, open.Start));
            batch.BatchCommands.Add(counts.PartsOfDayCommand(site.Id, ClosedHours(day, openHour.Start, zone), ClosedTenMinutes(openHour.Start, open.Start)));
            batch.BatchCommands.Add(counts.PeriodsBeforeDayCommand(site.Id, CountKey.SiteDimension, "", day, only: null));
            batch.BatchCommands.Add(siteBaselines.Command(site.Id));
        }, async reader =>
        {
            long openViewCount = 0;
            var recounts = new Dictionary<DateOnly, DayRecount>();
            var openDays = new List<VisitorDay>();
            await ViewHistory.ReadViewsAsync(reader, (d, view) =>
            {
                (recounts.TryGetValue(d, out var recount) ? recount : recounts[d] = new DayRecount()).Add(view);
                if (d == day && view.At >= open.Start)
                {
                    openViewCount++;
                }
            }, row => openDays.Add(VisitorDayStore.OfViewsRow(row, site.Id, day)), ct);
            await reader.NextResultAsync(ct);
            await reader.ReadAsync(ct);
            var (closedViews, closedVisits, closedVisitors) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            await reader.NextResultAsync(ct);
            var before = new Dictionary<PeriodKind, (long PageViews, long Visits)>(); // none when the site counted nothing before the day
            if (await reader.ReadAsync(ct))
            {
                foreach (var kind in PeriodKeys.AllKinds)
                {
                    before[kind] = CountStore.BeforeDay(reader, kind);
                }
            }

            await reader.NextResultAsync(ct);
            var baselines = (await SiteBaselines.ReadAsync(reader, ct)).Where(b => b.CountsAt(asOf)).ToList();

            // The open ten minutes' visits and first-time visitors from their visitors' visitor-days: the visits as the
            // engine keeps them (a view before the ten minutes decides whether one in them continues a visit; none of those
            // is read), as they stood at the moment (VisitorDay.VisitsStartedIn).
            var dayViews = checked(closedViews + openViewCount);
            var dayVisits = checked(closedVisits + openDays.Sum(v => (long)v.VisitsStartedIn(open.Start, asOf)));
            var dayVisitors = checked(closedVisitors + openDays.LongCount(v => v.FirstSeen >= open.Start));

            // Counted for the response; listed only for a group, which unions its members' (SiteAsOf.Online).
            var online = recounts.SelectMany(r => r.Value.OnlineVisitorsIn(window).Select(visitor => (r.Key, visitor)));

            PeriodFigures Figures(PeriodKind kind)
            {
                var key = keys.Key(kind);
                var closed = before.GetValueOrDefault(kind);
                var applying = baselines.Where(b => b.IsIn(kind, key)).Select(b => b.Baseline).ToList();
                return new PeriodFigures(
                    key,
                    checked(dayViews + closed.PageViews + applying.Sum(b => b.PageViews.For(kind))),
                    checked(dayVisits + closed.Visits + applying.Sum(b => b.Visits.For(kind))),
                    kind == PeriodKind.Day ? dayVisitors : null);
            }

            return new SiteAsOf(
                new CountersResponse(site.Id, site.TimeZone, SiteCalendar.ToLocal(asOf, zone), online.LongCount(),
                    Figures(PeriodKind.Day), Figures(PeriodKind.Week), Figures(PeriodKind.Month), Figures(PeriodKind.Year), Figures(PeriodKind.Total)),
                online);
        }, wide: false, ct);
    }

    /// <summary>
    /// A site's figures as of a moment, and the visitors online then, each with the day of their pseudonym: enumerated from
    /// the read's recounts when asked (a group's union), not kept as a list for a site's own read.
    /// </summary>
    public sealed record SiteAsOf(CountersResponse Counters, IEnumerable<(DateOnly Day, string Visitor)> Online);

    /// <summary>The keys of the local hours of <paramref name="day"/> that begin before <paramref name="end"/>.</summary>
    private static List<string> ClosedHours(DateOnly day, DateTimeOffset end, TimeZoneInfo zone)
    {
        var hours = new List<string>();
        for (var hour = PeriodKeys.HourOf(SiteCalendar.StartOf(day, zone)).Start; hour < end;
             hour = PeriodKeys.HourOf(SiteCalendar.ToLocal(hour.AddHours(1), zone)).Start)
        {
            hours.Add(PeriodKeys.HourKey(hour));
        }

        return hours;
    }

    /// <summary>The keys of the ten minutes of an hour (its local start given) that begin before <paramref name="end"/>.</summary>
    private static List<string> ClosedTenMinutes(DateTimeOffset hourStart, DateTimeOffset end)
    {
        var keys = new List<string>();
        for (var start = hourStart; start < end; start = start.AddMinutes(10))
        {
            keys.Add(PeriodKeys.TenMinutesKey(start));
        }

        return keys;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>
    /// Runs the reads <paramref name="addReads"/> adds, once the projection has applied every event recorded before the
    /// call, and hands their results to <paramref name="read"/>; null while a rebuild runs, or when the projection has not
    /// caught up within <see cref="CatchUpTimeout"/>. One round trip when it is caught up, as it is unless a load has just
    /// arrived: the projection's state leads the batch, and each read after it sees the store as committed when that read
    /// starts, so at least what the state said was applied. Behind, it waits for the projection and reads again. It waits
    /// for one of <see cref="ReadersAtOnce"/> turns first; a <paramref name="wide"/> read (every key of a dimension) for one
    /// of <see cref="WideReadersAtOnce"/> before that, so that one turn is always left to the others.
    /// </summary>
    public async Task<T?> ReadCaughtUpAsync<T>(Action<NpgsqlBatch> addReads, Func<NpgsqlDataReader, Task<T>> read, bool wide, CancellationToken ct)
        where T : class
    {
        if (!wide)
        {
            return await ReadCaughtUpInTurnAsync(addReads, read, ct);
        }

        await _wideReaders.WaitAsync(ct);
        try
        {
            return await ReadCaughtUpInTurnAsync(addReads, read, ct);
        }
        finally
        {
            _wideReaders.Release();
        }
    }

    private async Task<T?> ReadCaughtUpInTurnAsync<T>(Action<NpgsqlBatch> addReads, Func<NpgsqlDataReader, Task<T>> read, CancellationToken ct)
        where T : class
    {
        long? target = null;
        while (true)
        {
            await _readers.WaitAsync(ct);
            try
            {
                await using var batch = database.CreateBatch();
                AddStateCommands(batch);
                addReads(batch);
                await using var reader = await batch.ExecuteReaderAsync(ct);
                var (newest, applied, rebuilding) = await ReadStateAsync(reader, ct);
                if (rebuilding)
                {
                    return null;
                }

                target ??= newest;
                if (applied >= target)
                {
                    return await read(reader);
                }

                // Read to the batch's end before letting it go: a reader disposed with its statements unread hung for good
                // in Npgsql's consume (a dump of a stuck test: NextResult awaiting, PostgreSQL idle), where reading them
                // never did.
                while (await reader.NextResultAsync(ct))
                {
                    while (await reader.ReadAsync(ct))
                    {
                    }
                }
            }
            finally
            {
                _readers.Release();
            }

            if (!await WaitForProjectionAsync(target.Value, ct))
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Waits until the counter projection has applied the events up to <paramref name="target"/>. False if it has not
    /// within <see cref="CatchUpTimeout"/>, or while a rebuild runs: the closed days come from the projection's counts,
    /// which a rebuild replaces, so they are not exact until it is done.
    /// </summary>
    private async Task<bool> WaitForProjectionAsync(long target, CancellationToken ct)
    {
        var deadline = clock.GetUtcNow() + CatchUpTimeout;
        while (true)
        {
            await using var batch = database.CreateBatch();
            AddStateCommands(batch);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            var (_, applied, rebuilding) = await ReadStateAsync(reader, ct);
            if (rebuilding)
            {
                return false;
            }

            if (applied >= target)
            {
                return true;
            }

            if (clock.GetUtcNow() > deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, ct);
        }
    }

    /// <summary>
    /// The projection's state, from one snapshot: the newest committed event (not the sequence's value: a rolled-back
    /// append leaves numbers no event holds), the projection's mark, and whether a rebuild runs.
    /// </summary>
    private void AddStateCommands(NpgsqlBatch batch) => batch.BatchCommands.Add(tables.ProjectionStateCommand());

    /// <summary>Reads what <see cref="AddStateCommands"/> asked, and moves the reader to the next statement's rows.</summary>
    private static async Task<(long Newest, long Applied, bool Rebuilding)> ReadStateAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        await reader.ReadAsync(ct);
        var state = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2) > 0);
        await reader.NextResultAsync(ct);
        return state;
    }
}
