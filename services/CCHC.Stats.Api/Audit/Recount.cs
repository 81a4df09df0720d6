using CCHC.Stats.Api.Counters;
using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Audit;

/// <summary>Recounts days from the raw view events, by the contract's rules, in PostgreSQL.</summary>
public sealed class Recount(IDocumentStore store, NpgsqlDataSource database)
{
    public readonly record struct DayFigures(long PageViews, long Visits, long Visitors);

    /// <summary>Page views, visits and visitors of each day in [first, last] (or of every day, when both are null).</summary>
    public async Task<Dictionary<DateOnly, DayFigures>> DaysAsync(string siteId, DateOnly? first, DateOnly? last, CancellationToken ct)
    {
        await using var command = database.CreateCommand(
            $"""
            SELECT day, count(*), count(*) FILTER (WHERE prev IS NULL OR at - prev >= make_interval(mins => @gap)), count(DISTINCT visitor)
            FROM (SELECT data ->> 'day' AS day, data ->> 'visitorHash' AS visitor, (data ->> 'occurredAt')::timestamptz AS at,
                         lag((data ->> 'occurredAt')::timestamptz) OVER (
                             PARTITION BY data ->> 'visitorHash', data ->> 'day' ORDER BY (data ->> 'occurredAt')::timestamptz, seq_id) AS prev
                  FROM {store.Options.Events.DatabaseSchemaName}.mt_events
                  WHERE type = 'page_viewed' AND data ->> 'siteId' = @site
                    AND (@first::text IS NULL OR data ->> 'day' >= @first) AND (@last::text IS NULL OR data ->> 'day' <= @last)) v
            GROUP BY day
            """);
        command.Parameters.AddWithValue("site", siteId);
        command.Parameters.AddWithValue("gap", (int)VisitorDay.VisitGap.TotalMinutes);
        command.Parameters.Add(new NpgsqlParameter("first", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)first?.ToString("yyyy-MM-dd") ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("last", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)last?.ToString("yyyy-MM-dd") ?? DBNull.Value });
        var days = new Dictionary<DateOnly, DayFigures>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            days[DateOnly.Parse(reader.GetString(0))] = new DayFigures(reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        }

        return days;
    }
}
