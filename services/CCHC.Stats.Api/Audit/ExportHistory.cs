using System.Data;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using Marten;
using Npgsql;

namespace CCHC.Stats.Api.Audit;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/events?from=&amp;to=&amp;format=ndjson|csv</c> (auditor key): the recorded history of a
/// site in the order it was recorded, streamed from PostgreSQL row by row, so memory stays flat for any range.
/// </summary>
/// <remarks>
/// <c>startedVisit</c> comes from the counters' own rules: each day a page view of the export falls on is recounted
/// whole by <see cref="DayRecount"/> (views before <c>from</c> on the same day count as "earlier"), a few days kept at a
/// time. Both reads stop at the newest event recorded when the export began, so a view recorded meanwhile changes
/// neither.
/// </remarks>
public static class ExportHistory
{
    public static async Task Handle(KnownSite? site, string? from, string? to, string? format, HttpContext http,
        IDocumentStore store, NpgsqlDataSource database, ViewHistory history, EventProgress events, CancellationToken ct)
    {
        var siteId = site!.Id;

        var range = AuditRange.Parse(from, to);
        if (range.Problem is not null)
        {
            await range.Problem.ExecuteAsync(http);
            return;
        }

        format ??= "ndjson";
        if (format is not ("ndjson" or "csv"))
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid format.", detail: "format is ndjson or csv.").ExecuteAsync(http);
            return;
        }

        http.Response.ContentType = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{siteId}-events.{format}\"";
        await using var command = database.CreateCommand(Sql(store.Options.Events.DatabaseSchemaName));
        var ceiling = await events.NewestAsync(ct);
        command.Parameters.AddWithValue("site", siteId);
        command.Parameters.AddWithValue("ceiling", ceiling);
        command.Parameters.Add(new NpgsqlParameter("from", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)range.From?.ToUniversalTime() ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("to", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)range.To?.ToUniversalTime() ?? DBNull.Value });

        // Seals are selected by the day they seal (a month's export holds that month's seals), the other facts by their moment.
        var zone = site.Zone;
        command.Parameters.Add(new NpgsqlParameter("fromDay", NpgsqlTypes.NpgsqlDbType.Text)
            { Value = (object?)(range.From is { } f ? DayText(SiteCalendar.LocalDay(f, zone)) : null) ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("toDay", NpgsqlTypes.NpgsqlDbType.Text)
            { Value = (object?)(range.To is { } t ? DayText(SiteCalendar.LocalDay(t.AddTicks(-1), zone)) : null) ?? DBNull.Value });

        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        await using var output = new StreamWriter(http.Response.Body, new UTF8Encoding(false), 64 * 1024);
        if (format == "csv")
        {
            await output.WriteLineAsync(Csv.Header);
        }

        var days = new RecountedDays(history, siteId, ceiling);
        var rows = 0;
        while (await reader.ReadAsync(ct))
        {
            var (sequence, type) = (reader.GetInt64(0), reader.GetString(1));
            var data = reader.GetString(2);
            bool? startedVisit = type == "page_viewed"
                ? (await days.OfAsync(DateOnly.ParseExact(reader.GetString(3), "yyyy-MM-dd", CultureInfo.InvariantCulture), ct)).StartedVisit(sequence)
                : null;
            var row = new HistoryRow(sequence, type, data, startedVisit);
            await output.WriteLineAsync(format == "csv" ? Csv.Line(row) : row.ToJson());
            if (++rows % 1000 == 0)
            {
                await output.FlushAsync(ct);
            }
        }
    }

    private static string DayText(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The site's facts in sequence order, up to the ceiling.</summary>
    private static string Sql(string schema) =>
        $"""
        SELECT seq_id, type, data::text, data ->> 'day'
        FROM (
            SELECT seq_id, type, data,
                   (coalesce(data ->> 'occurredAt', data ->> 'asOf', data ->> 'withdrawnAt', data ->> 'sealedAt'))::timestamptz AS at
            FROM {schema}.mt_events
            WHERE data ->> 'siteId' = @site AND type IN ({HistoryRow.Kinds}) AND seq_id <= @ceiling
              AND (@from::timestamptz IS NULL OR data ->> 'day' >= to_char(@from::timestamptz - interval '1 day', 'YYYY-MM-DD'))
              AND (@to::timestamptz IS NULL OR data ->> 'day' <= to_char(@to::timestamptz + interval '1 day', 'YYYY-MM-DD'))
        ) history
        WHERE CASE WHEN type = 'day_sealed'
                   THEN (@fromDay::text IS NULL OR data ->> 'day' >= @fromDay) AND (@toDay::text IS NULL OR data ->> 'day' <= @toDay)
                   ELSE (@from::timestamptz IS NULL OR at >= @from) AND (@to::timestamptz IS NULL OR at < @to) END
        ORDER BY seq_id
        """;
}

/// <summary>
/// The recounts of the days an export's page views fall on, the last few kept: an export runs in sequence order, which
/// is day order but for late imports, so each day is read about once and memory holds a few days' visitors.
/// </summary>
internal sealed class RecountedDays(ViewHistory history, string siteId, long ceiling)
{
    private const int Kept = 4;

    private readonly List<(DateOnly Day, DayRecount Recount)> _kept = [];

    public async Task<DayRecount> OfAsync(DateOnly day, CancellationToken ct)
    {
        var index = _kept.FindIndex(k => k.Day == day);
        if (index >= 0)
        {
            return _kept[index].Recount;
        }

        var recount = await history.RecountDayAsync(ViewHistory.Range.Day(siteId, day) with { UpToSequence = ceiling }, ct);
        if (_kept.Count == Kept)
        {
            _kept.RemoveAt(0);
        }

        _kept.Add((day, recount));
        return recount;
    }
}

/// <summary>One exported fact.</summary>
public sealed record HistoryRow(long Sequence, string Type, string Data, bool? StartedVisit)
{
    /// <summary>The event types that change a number, as SQL literals.</summary>
    public const string Kinds = "'page_viewed', 'baseline_recorded', 'baseline_withdrawn', 'page_baseline_recorded', 'day_sealed'";

    public string Kind => Type switch
    {
        "page_viewed" => "pageView",
        "baseline_recorded" => "baseline",
        "baseline_withdrawn" => "baselineWithdrawn",
        "page_baseline_recorded" => "pageBaseline",
        "day_sealed" => "daySealed",
        _ => Type,
    };

    /// <summary>
    /// Escapes what JSON requires (quotes, backslashes, control characters) and nothing more: an auditor reads and greps
    /// <c>+07:00</c> and Vietnamese titles as they are, not as <c>\u002B07:00</c>. The export is a file, not HTML.
    /// </summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string ToJson()
    {
        using var data = JsonDocument.Parse(Data);
        var e = data.RootElement;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber("sequence", Sequence);
            json.WriteString("occurredAt", OccurredAt(e));
            json.WriteString("kind", Kind);
            WriteStringOrNull(json, "url", e, "url");
            WriteStringOrNull(json, "referrer", e, "referrer");
            WriteStringOrNull(json, "title", e, "title");
            WriteStringOrNull(json, "visitorHash", e, "visitorHash");
            if (StartedVisit is { } started)
            {
                json.WriteBoolean("startedVisit", started);
            }
            else
            {
                json.WriteNull("startedVisit");
            }

            json.WriteString("day", e.GetProperty("day").GetString());
            json.WritePropertyName("details");
            if (Type == "page_viewed")
            {
                json.WriteNullValue();
            }
            else
            {
                e.WriteTo(json);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string OccurredAt(JsonElement e) =>
        (e.TryGetProperty("occurredAt", out var at) ? at
            : e.TryGetProperty("asOf", out var asOf) ? asOf
            : e.TryGetProperty("withdrawnAt", out var withdrawnAt) ? withdrawnAt
            : e.GetProperty("sealedAt")).GetString()!;

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, JsonElement e, string property)
    {
        if (e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String)
        {
            json.WriteString(name, value.GetString());
        }
        else
        {
            json.WriteNull(name);
        }
    }
}

/// <summary>CSV with a header row, RFC 4180 quoting, and cells neutralised against spreadsheet formulas.</summary>
public static class Csv
{
    public const string Header = "sequence,occurredAt,kind,url,referrer,title,visitorHash,startedVisit,day,details";

    public static string Line(HistoryRow row)
    {
        using var data = JsonDocument.Parse(row.Data);
        var e = data.RootElement;
        string? Text(string property) => e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return string.Join(',',
            row.Sequence.ToString(CultureInfo.InvariantCulture),
            Cell(HistoryRow.OccurredAt(e)),
            Cell(row.Kind),
            Cell(Text("url")),
            Cell(Text("referrer")),
            Cell(Text("title")),
            Cell(Text("visitorHash")),
            row.StartedVisit is { } started ? (started ? "true" : "false") : "",
            Cell(Text("day")),
            Cell(row.Type == "page_viewed" ? null : row.Data));
    }

    /// <summary>
    /// Quotes when needed; a cell that a spreadsheet would read as a formula (starting with =, +, -, @, tab or
    /// carriage return) gets a leading apostrophe.
    /// </summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
    }
}

/// <summary>The <c>from</c>/<c>to</c> of an audit request: ISO-8601 with offset, <c>from</c> inclusive, <c>to</c> exclusive.</summary>
public sealed record AuditRange(DateTimeOffset? From, DateTimeOffset? To, IResult? Problem)
{
    public static AuditRange Parse(string? from, string? to)
    {
        DateTimeOffset? Read(string? text, string name, ref IResult? problem)
        {
            if (string.IsNullOrEmpty(text))
            {
                return null;
            }

            if (ApiTime.TryParse(text, out var instant, out var reason))
            {
                return instant;
            }

            problem = ApiTime.Invalid(name, reason!);
            return null;
        }

        IResult? problem = null;
        var start = Read(from, "from", ref problem);
        var end = Read(to, "to", ref problem);
        if (problem is null && start > end)
        {
            problem = Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid range.", detail: "'from' is after 'to'.");
        }

        return new AuditRange(start, end, problem);
    }
}
