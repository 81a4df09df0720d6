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
/// <item>the local day D containing T is recounted from its raw view events up to T by <see cref="DayRecount"/>, the
/// projection's own rules;</item>
/// <item>each longer period adds the stored day counts of its days before D (the projection's figures for closed
/// days, counted by the same engine);</item>
/// <item>baselines that count at T (<see cref="StandingBaseline.CountsAt"/>: recorded for a moment at or before T and not
/// withdrawn by T) add their figure to the periods of that kind that contain both;</item>
/// <item>online: <see cref="OnlineWindow"/> over the same recount (and the day before's views in the window).</item>
/// </list>
/// So it reads one day of raw events, never the whole history. Before reading it waits until the
/// projection has applied every event recorded before the request, so the closed days are exact too: two round
/// trips in all when the projection is caught up.
/// </summary>
public sealed class CountersAsOf(IDocumentStore store, NpgsqlDataSource database, ViewHistory history, CountStore counts, SiteBaselines siteBaselines,
    TimeProvider clock)
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

        // The day containing the moment, recounted from its views up to it; and, when the online window reaches back
        // into the day before, that day's views in the window (a visitor's hash changes at local midnight, the daily
        // salt, so the two days' online visitors add up).
        var window = OnlineWindow.Before(asOf, site.OnlineWindowMinutes);
        var windowStartDay = SiteCalendar.LocalDay(window.Since, zone);

        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(history.Command(ViewHistory.Range.Day(site.Id, day) with { UpTo = asOf }));
        batch.BatchCommands.Add(counts.DaysBeforeCommand(site.Id, day, keys.FirstDay(PeriodKind.Week), keys.FirstDay(PeriodKind.Month),
            keys.FirstDay(PeriodKind.Year)));
        batch.BatchCommands.Add(siteBaselines.Command(site.Id));
        if (windowStartDay != day)
        {
            batch.BatchCommands.Add(history.Command(new ViewHistory.Range(site.Id, windowStartDay, windowStartDay, After: window.Since)));
        }

        await using var reader = await batch.ExecuteReaderAsync(ct);
        var today = new DayRecount();
        await ViewHistory.ReadAsync(reader, (_, recount) => today = recount, ct);
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        var closed = new long[8];
        for (var i = 0; i < closed.Length; i++)
        {
            closed[i] = reader.GetInt64(i);
        }

        await reader.NextResultAsync(ct);
        var baselines = (await SiteBaselines.ReadAsync(reader, ct)).Where(b => b.CountsAt(asOf)).ToList();

        var online = today.OnlineIn(window);
        if (windowStartDay != day)
        {
            await reader.NextResultAsync(ct);
            await ViewHistory.ReadAsync(reader, (_, dayBefore) => online += dayBefore.OnlineIn(window), ct);
        }

        var (dayViews, dayVisits, dayVisitors) = (today.PageViews, today.Visits, today.Visitors);

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

    /// <summary>
    /// Waits until the counter projection has passed the newest event recorded when the read began. False if it has not
    /// within <see cref="CatchUpTimeout"/>, or while a rebuild runs: the closed days come from the projection's
    /// documents, which a rebuild replaces, so they are not exact until it is done.
    /// </summary>
    private async Task<bool> WaitForProjectionAsync(CancellationToken ct)
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
        var schema = store.Options.Events.DatabaseSchemaName;
        await using var command = database.CreateCommand(
            $"""
            SELECT coalesce((SELECT max(seq_id) FROM {schema}.mt_events), 0),
                   coalesce((SELECT last_seq_id FROM {schema}.mt_event_progression WHERE name = @shard), 0),
                   EXISTS (SELECT 1 FROM {store.Options.Schema.For<RebuildStatus>()} WHERE id = @rebuild AND data ->> 'state' = @running)
            """);
        command.Parameters.AddWithValue("shard", CounterProjection.ShardName);
        command.Parameters.AddWithValue("rebuild", RebuildStatus.SingletonId);
        command.Parameters.AddWithValue("running", RebuildStatus.Running);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2));
    }
}
