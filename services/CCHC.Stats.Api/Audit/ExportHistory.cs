using System.Data;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
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
        NpgsqlDataSource database, ViewHistory history, MartenTables tables, CancellationToken ct)
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
        var ceiling = await tables.NewestAsync(ct);

        // Seals are selected by the day they seal (a month's export holds that month's seals), the other facts by their moment.
        var zone = site.Zone;
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(tables.HistoryCommand(siteId, ceiling, range.From, range.To,
            range.From is { } f ? SiteCalendar.LocalDay(f, zone) : null, range.To is { } t ? SiteCalendar.LocalDay(t.AddTicks(-1), zone) : null));
        await using var reader = await batch.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
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
            var (data, day) = (reader.GetString(2), reader.GetString(3));
            bool? startedVisit = type == "page_viewed"
                ? (await days.OfAsync(DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture), ct)).StartedVisit(sequence)
                : null;
            var row = new HistoryRow(sequence, type, data, day, startedVisit);
            await output.WriteLineAsync(format == "csv" ? Csv.Line(row) : row.ToJson());
            if (++rows % 1000 == 0)
            {
                await output.FlushAsync(ct);
            }
        }
    }
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

/// <summary>One exported fact, with its site-local day (a view stores it only in its <c>occurredAt</c>).</summary>
public sealed record HistoryRow(long Sequence, string Type, string Data, string Day, bool? StartedVisit)
{
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

            json.WriteString("day", Day);
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
            Cell(row.Day),
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
