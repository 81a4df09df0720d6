using System.Globalization;
using CCHC.Stats.Api.Hosting;
using Npgsql;

namespace CCHC.Stats.Api.Counters;

/// <summary>A day's figures as <see cref="DayRecount"/> counts them from the raw views.</summary>
public readonly record struct DayFigures(long PageViews, long Visits, long Visitors)
{
    public static DayFigures Of(DayRecount recount) => new(recount.PageViews, recount.Visits, recount.Visitors);
}

/// <summary>
/// Reads the raw page views of a site's days from the event store and recounts them with <see cref="DayRecount"/>: the
/// one read every exact figure starts from (<c>asOf</c>, verify, the seals, the export's <c>startedVisit</c>). SQL here
/// (<see cref="MartenTables"/>'s) selects rows (a site, a range of days, a time range, a sequence ceiling); it counts nothing.
/// </summary>
public sealed class ViewHistory(MartenTables tables, NpgsqlDataSource database)
{
    /// <summary>Which views to read: a site's days in [<see cref="First"/>, <see cref="Last"/>], optionally narrowed.</summary>
    /// <param name="After">Only views after this moment.</param>
    /// <param name="UpTo">Only views at or before this moment.</param>
    /// <param name="UpToSequence">Only views recorded at or before this sequence.</param>
    /// <param name="FromLocal">
    /// Only views from the local ten minutes of this moment on (in the site's local offset), as the index keeps them
    /// (<see cref="MartenTables.SiteDayIndex"/>): what lets a read of a few minutes skip the day's earlier views. Narrows no
    /// further than <paramref name="After"/> should; it is the index's way in.
    /// </param>
    /// <param name="ToLocal">
    /// Only views up to the local ten minutes of this moment (that of <paramref name="UpTo"/>, in the site's local offset):
    /// the index's way out, so a read of a few minutes early in a long day does not fetch the rest of the day to drop it.
    /// </param>
    public sealed record Range(string SiteId, DateOnly First, DateOnly Last, DateTimeOffset? After = null, DateTimeOffset? UpTo = null, long? UpToSequence = null,
        DateTimeOffset? FromLocal = null, DateTimeOffset? ToLocal = null)
    {
        public static Range Day(string siteId, DateOnly day) => new(siteId, day, day);

        /// <summary>Every day of the site's history.</summary>
        public static Range All(string siteId) => new(siteId, DateOnly.MinValue, DateOnly.MaxValue);
    }

    /// <summary>
    /// The statement for a range's views, by day, each day's in sequence order (the site-day index gives the days in
    /// order; PostgreSQL sorts each day's rows); read it with <see cref="ReadAsync"/>. To run alone or in a batch.
    /// </summary>
    public NpgsqlBatchCommand Command(Range range) => tables.ViewsCommand(range, withSources: false);

    /// <summary>
    /// As <see cref="Command"/>, with each view's referrer and URL: <see cref="ReadAsync"/> then recounts where visits came
    /// from too (<see cref="DayRecount.VisitsBySource"/>).
    /// </summary>
    public NpgsqlBatchCommand SourcesCommand(Range range) => tables.ViewsCommand(range, withSources: true);

    /// <summary>
    /// The statement for the local day and URL of a range's views (two columns), in no order: what the pages' figures
    /// are recounted from (<c>asOf</c> a moment, verify).
    /// </summary>
    public NpgsqlBatchCommand UrlsCommand(Range range) => tables.ViewUrlsCommand(range);

    /// <summary>Hands the local day and URL of each of a range's views to <paramref name="viewed"/>, in no order.</summary>
    public async Task ReadUrlsAsync(Range range, Action<DateOnly, string> viewed, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(UrlsCommand(range));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var days = new DayColumn();
        while (await reader.ReadAsync(ct))
        {
            viewed(days.Of(reader), reader.GetString(1));
        }
    }

    /// <summary>
    /// Hands each view of a statement made by <see cref="Command"/> (or <see cref="SourcesCommand"/>) to
    /// <paramref name="viewed"/> with its local day, in the statement's order (by day, each day's in sequence order).
    /// </summary>
    public static Task ReadViewsAsync(NpgsqlDataReader reader, Action<DateOnly, DayView> viewed, CancellationToken ct) =>
        ReadViewsAsync(reader, viewed, null, ct);

    /// <summary>
    /// As <see cref="ReadViewsAsync(NpgsqlDataReader, Action{DateOnly, DayView}, CancellationToken)"/>, for a statement that
    /// follows a <see cref="Command"/>'s views with rows of its own, their sequence NULL
    /// (<see cref="VisitorDayStore.WithVisitorDaysCommand"/>): hands each of those to <paramref name="other"/>.
    /// </summary>
    public static async Task ReadViewsAsync(NpgsqlDataReader reader, Action<DateOnly, DayView> viewed, Action<NpgsqlDataReader>? other, CancellationToken ct)
    {
        var days = new DayColumn();
        while (await reader.ReadAsync(ct))
        {
            if (other is not null && reader.IsDBNull(1))
            {
                other(reader);
                continue;
            }

            var day = days.Of(reader);
            var source = reader.FieldCount > 4 && !reader.IsDBNull(4) ? Traffic.VisitSource.Of(reader.GetString(4), reader.GetString(5)) : null;
            viewed(day, new DayView(reader.GetInt64(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), source));
        }
    }

    /// <summary>
    /// Recounts the views of a statement made by <see cref="Command"/> (or <see cref="SourcesCommand"/>) a day at a time, handing each day's recount to
    /// <paramref name="recounted"/> when its last view is read: one day's visitors in memory, whatever the range.
    /// </summary>
    public static async Task ReadAsync(NpgsqlDataReader reader, Action<DateOnly, DayRecount> recounted, CancellationToken ct)
    {
        DateOnly? current = null;
        var recount = new DayRecount();
        await ReadViewsAsync(reader, (day, view) =>
        {
            if (day != current)
            {
                if (current is { } done)
                {
                    recounted(done, recount);
                }

                (current, recount) = (day, new DayRecount());
            }

            recount.Add(view);
        }, ct);

        if (current is { } last)
        {
            recounted(last, recount);
        }
    }

    /// <summary>The figures of each day of the range that has views.</summary>
    public async Task<SortedDictionary<DateOnly, DayFigures>> FiguresAsync(Range range, CancellationToken ct)
    {
        var figures = new SortedDictionary<DateOnly, DayFigures>();
        await RecountAsync(range, (day, recount) => figures[day] = DayFigures.Of(recount), ct);
        return figures;
    }

    /// <summary>The figures of each day of the range that has views, with its visits by source (what verify recounts).</summary>
    public async Task<SortedDictionary<DateOnly, (DayFigures Figures, Dictionary<string, long> VisitsBySource)>> FiguresWithSourcesAsync(Range range,
        CancellationToken ct)
    {
        var figures = new SortedDictionary<DateOnly, (DayFigures, Dictionary<string, long>)>();
        await RecountAsync(SourcesCommand(range), (day, recount) => figures[day] = (DayFigures.Of(recount), recount.VisitsBySource), ct);
        return figures;
    }

    /// <summary>One site-day recounted: its figures, and which of its views start visits.</summary>
    public async Task<DayRecount> RecountDayAsync(Range range, CancellationToken ct)
    {
        var recount = new DayRecount();
        await RecountAsync(range, (_, day) => recount = day, ct);
        return recount;
    }

    private Task RecountAsync(Range range, Action<DateOnly, DayRecount> recounted, CancellationToken ct) => RecountAsync(Command(range), recounted, ct);

    private async Task RecountAsync(NpgsqlBatchCommand command, Action<DateOnly, DayRecount> recounted, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(command);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await ReadAsync(reader, recounted, ct);
    }

    /// <summary>
    /// The local day of each row, its first column as the events write it (<c>2026-11-29</c>): parsed once for each run of
    /// rows of one day, since the reads come a day at a time.
    /// </summary>
    private sealed class DayColumn
    {
        private string? _key;
        private DateOnly _day;

        public DateOnly Of(NpgsqlDataReader reader)
        {
            var key = reader.GetString(0);
            if (key != _key)
            {
                (_key, _day) = (key, DateOnly.ParseExact(key, "yyyy-MM-dd", CultureInfo.InvariantCulture));
            }

            return _day;
        }
    }
}
