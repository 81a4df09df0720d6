using CCHC.Stats.Api.Audit;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>
/// The figures as they stood at a moment T: only events that occurred at or before T, in the periods that
/// contain T. The rule, which an auditor can re-derive from the export:
/// <list type="bullet">
/// <item>the local day D containing T: its closed hours from the stored hour counts, and the hour containing T
/// recounted from its raw views up to T by <see cref="DayRecount"/>, the projection's own rules (visitors: the hours'
/// first-seen visitors, and those of the open hour whose visitor-day starts in it);</item>
/// <item>each longer period adds the stored day counts of its days before D (the projection's figures for closed
/// days, counted by the same engine);</item>
/// <item>baselines that count at T (<see cref="StandingBaseline.CountsAt"/>: recorded for a moment at or before T and not
/// withdrawn by T) add their figure to the periods of that kind that contain both;</item>
/// <item>online: <see cref="OnlineWindow"/> over the same recount (and the day before's views in the window).</item>
/// </list>
/// So it reads at most an hour and a half of raw events, never a whole day or the history. Before reading it waits until the
/// projection has applied every event recorded before the request, so the closed days and hours are exact too: three
/// round trips in all when the projection is caught up.
/// </summary>
public sealed class CountersAsOf(IDocumentStore store, NpgsqlDataSource database, ViewHistory history, CountStore counts, VisitorDayStore visitorDays,
    EventProgress events,
    SiteBaselines siteBaselines, TimeProvider clock)
{
    /// <summary>How long an as-of read waits for the projection to catch up before it gives up (503).</summary>
    public static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(10);

    public async Task<CountersResponse?> ComputeAsync(Site site, TimeZoneInfo zone, DateTimeOffset asOf, CancellationToken ct)
    {
        if (!await WaitForProjectionAsync(ct))
        {
            return null;
        }

        var day = SiteCalendar.LocalDay(asOf, zone);
        var keys = new PeriodKeys(day);

        // The day up to the moment: its closed hours from the stored counts, and the open hour recounted from its raw
        // views up to the moment, with the views of a visit gap before it as context (they decide whether a view in the
        // hour continues a visit). The same read gives who is online: the window's views, and when the window reaches
        // back into the day before, that day's (a visitor's hash changes at local midnight, the daily salt, so the two
        // days' online visitors add up). One statement reads both days: the same statement twice in one batch tripped
        // Npgsql's automatic preparation.
        var openHour = PeriodKeys.HourOf(SiteCalendar.ToLocal(asOf, zone));
        var window = OnlineWindow.Before(asOf, site.OnlineWindowMinutes);
        var contextStart = SiteCalendar.ToLocal(Min(openHour.Start - VisitorDay.VisitGap, window.Since), zone);
        var views = new ViewHistory.Range(site.Id, SiteCalendar.LocalDay(window.Since, zone), day, After: contextStart, UpTo: asOf,
            FromLocalHour: PeriodKeys.HourKey(contextStart)[..13], ToLocalHour: PeriodKeys.HourKey(openHour.Start)[..13]);

        long closedHourViews, closedHourVisits, closedHourVisitors, online = 0;
        var hour = new DayRecount(openHour.Start);
        var closed = new long[8];
        List<StandingBaseline> baselines;
        await using (var batch = database.CreateBatch())
        {
            batch.BatchCommands.Add(history.Command(views));
            batch.BatchCommands.Add(counts.HoursCommand(site.Id, ClosedHours(day, openHour.Start, zone)));
            batch.BatchCommands.Add(counts.DaysBeforeCommand(site.Id, day, keys.FirstDay(PeriodKind.Week), keys.FirstDay(PeriodKind.Month),
                keys.FirstDay(PeriodKind.Year)));
            batch.BatchCommands.Add(siteBaselines.Command(site.Id));

            await using var reader = await batch.ExecuteReaderAsync(ct);
            await ViewHistory.ReadAsync(reader, (d, recount) =>
            {
                online += recount.OnlineIn(window);
                if (d == day)
                {
                    hour = recount;
                }
            }, ct, countFrom: openHour.Start);
            await reader.NextResultAsync(ct);
            await reader.ReadAsync(ct);
            (closedHourViews, closedHourVisits, closedHourVisitors) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            await reader.NextResultAsync(ct);
            await reader.ReadAsync(ct);
            for (var i = 0; i < closed.Length; i++)
            {
                closed[i] = reader.GetInt64(i);
            }

            await reader.NextResultAsync(ct);
            baselines = (await SiteBaselines.ReadAsync(reader, ct)).Where(b => b.CountsAt(asOf)).ToList();
        }

        var dayViews = checked(closedHourViews + hour.PageViews);
        var dayVisits = checked(closedHourVisits + hour.Visits);
        var dayVisitors = checked(closedHourVisitors + await FirstSeenFromAsync(site.Id, day, hour.CountedVisitors.ToList(), openHour.Start, ct));

        PeriodFigures Figures(PeriodKind kind, long closedViews, long closedVisits)
        {
            var key = keys.Key(kind);
            var applying = baselines.Where(b => b.IsIn(kind, key)).Select(b => b.Baseline).ToList();
            return new PeriodFigures(
                key,
                checked(dayViews + closedViews + applying.Sum(b => b.PageViews.For(kind))),
                checked(dayVisits + closedVisits + applying.Sum(b => b.Visits.For(kind))),
                kind == PeriodKind.Day ? dayVisitors : null);
        }

        return new CountersResponse(site.Id, site.TimeZone, SiteCalendar.ToLocal(asOf, zone), online,
            Figures(PeriodKind.Day, 0, 0),
            Figures(PeriodKind.Week, closed[0], closed[1]),
            Figures(PeriodKind.Month, closed[2], closed[3]),
            Figures(PeriodKind.Year, closed[4], closed[5]),
            Figures(PeriodKind.Total, closed[6], closed[7]));
    }

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

    /// <summary>
    /// How many of <paramref name="visitors"/> (seen in the open hour) were first seen that day in it, not before: their
    /// visitor-days, which the projection has brought up to date, know their first view.
    /// </summary>
    private Task<long> FirstSeenFromAsync(string siteId, DateOnly day, IReadOnlyList<string> visitors, DateTimeOffset from, CancellationToken ct) =>
        visitors.Count == 0 ? Task.FromResult(0L) : visitorDays.FirstSeenFromAsync(siteId, day, visitors, from, ct);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>
    /// Waits until the counter projection has passed the newest event recorded when the read began. False if it has not
    /// within <see cref="CatchUpTimeout"/>, or while a rebuild runs: the closed days come from the projection's
    /// documents, which a rebuild replaces, so they are not exact until it is done.
    /// </summary>
    public async Task<bool> WaitForProjectionAsync(CancellationToken ct)
    {
        var deadline = clock.GetUtcNow() + CatchUpTimeout;
        long? target = null;
        while (true)
        {
            var (newest, applied, rebuilding) = await ProjectionStateAsync(ct);
            if (rebuilding)
            {
                return false;
            }

            target ??= newest;
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
    /// In one query: the newest committed event (not the sequence's value: a rolled-back append leaves numbers no event
    /// holds), the projection's mark, and whether a rebuild runs.
    /// </summary>
    private async Task<(long Newest, long Applied, bool Rebuilding)> ProjectionStateAsync(CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(events.NewestCommand());
        batch.BatchCommands.Add(events.CountersCommand());
        batch.BatchCommands.Add(RebuildStatus.RunningCommand(store));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var values = new long[3];
        for (var i = 0; i < values.Length; i++)
        {
            await reader.ReadAsync(ct);
            values[i] = reader.GetInt64(0);
            await reader.NextResultAsync(ct);
        }

        return (values[0], values[1], values[2] > 0);
    }
}
