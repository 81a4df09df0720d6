using System.Buffers;
using System.Globalization;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Traffic;

/// <summary>
/// <c>GET /api/v1/sites/{siteId}/stats/series?from=&amp;to=&amp;interval=hour|day|month</c>: a site's figures per interval of
/// [from, to) in its time zone, every interval present (zeros included), read from the counts the engine stored (hours,
/// days, months: never recounted from events). Readable as the site's <c>publishStats</c> says.
/// </summary>
public static class GetSeries
{
    /// <summary>The most points an answer holds, by interval (a month of hours, ten years of days, a century of months).</summary>
    public static readonly IReadOnlyDictionary<string, int> MaxPoints = new Dictionary<string, int> { ["hour"] = 744, ["day"] = 3700, ["month"] = 1200 };

    public static async Task<IResult> Handle(KnownSite? site, string? from, string? to, string? interval, HttpContext http, CountStore counts,
        SiteHours hours, CancellationToken ct)
    {
        if (PublishedStats.Check(http, site!.Site) is { } denied)
        {
            return denied;
        }

        if (interval is null || !MaxPoints.TryGetValue(interval, out var max))
        {
            return Problem("Invalid interval.", "'interval' is hour, day or month.");
        }

        if (from is null || to is null)
        {
            return Problem("Invalid range.", $"'from' and 'to' are required, {ApiTime.ExpectedForm}.");
        }

        if (!ApiTime.TryParse(from, out var start, out var problem) || !ApiTime.TryParse(to, out var end, out problem))
        {
            return Problem("Invalid range.", $"'from' and 'to' {problem}.");
        }

        if (end <= start)
        {
            return Problem("Invalid range.", "'to' must be after 'from'.");
        }

        if (interval == "hour")
        {
            // Hours are an hour apart whatever the zone's offsets: counted without naming each (a month of hours is 745 keys).
            var firstHour = PeriodKeys.HourOf(SiteCalendar.ToLocal(start, site.Zone)).Start;
            return Math.Ceiling((end - firstHour).TotalHours) > max
                ? Problem("Too many points.", $"At most {max:N0} {interval} points in one answer; ask for a shorter range.")
                : await HoursAsync(http, site, firstHour, end, hours, ct);
        }

        var intervals = Intervals(interval, start, end, site.Zone).Take(max + 1).ToList();
        if (intervals.Count > max)
        {
            return Problem("Too many points.", $"At most {max:N0} {interval} points in one answer; ask for a shorter range.");
        }

        var points = await PointsAsync(site, interval, intervals, counts, ct);
        return CacheableJson.ServeOnce(http, new SeriesResponse(interval, points), GetCounters.MaxAgeSeconds, isPublic: site.Site.PublishStats);
    }

    /// <summary>The points of [start, end) by <paramref name="interval"/> (hour, day or month), every interval present.</summary>
    public static async Task<List<SeriesPoint>> PointsAsync(KnownSite site, string interval, DateTimeOffset start, DateTimeOffset end, CountStore counts,
        SiteHours hours, CancellationToken ct)
    {
        var intervals = Intervals(interval, start, end, site.Zone).ToList();
        if (interval != "hour")
        {
            return await PointsAsync(site, interval, intervals, counts, ct);
        }

        var (first, last) = (intervals[0].Start, intervals[^1].Start);
        return (await hours.DaysAsync(site, SiteCalendar.LocalDay(first, site.Zone), SiteCalendar.LocalDay(last, site.Zone), ct))
            .SelectMany(d => d.Points).Where(p => p.Start >= first && p.Start <= last).ToList();
    }

    /// <summary>
    /// The hours that start in [<paramref name="first"/>, <paramref name="end"/>), written from the JSON each hour's point
    /// already has (<see cref="SiteHours"/>): an answer of 744 points costs copying them, not serialising them.
    /// </summary>
    private static async Task<IResult> HoursAsync(HttpContext http, KnownSite site, DateTimeOffset first, DateTimeOffset end, SiteHours hours,
        CancellationToken ct)
    {
        var days = await hours.DaysAsync(site, SiteCalendar.LocalDay(first, site.Zone), SiteCalendar.LocalDay(end.AddTicks(-1), site.Zone), ct);

        // The answer follows from its range and its days' hours: the ETag is a digest of those, not of the body.
        using var digest = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        digest.AppendData(BitConverter.GetBytes(first.UtcTicks));
        digest.AppendData(BitConverter.GetBytes(end.UtcTicks));
        foreach (var day in days)
        {
            digest.AppendData(day.Digest);
        }

        var etag = CacheableJson.WeakETag(digest.GetHashAndReset());
        return CacheableJson.NotModified(http, etag, GetCounters.MaxAgeSeconds, isPublic: site.Site.PublishStats)
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : new HoursAnswer(days, first, end);
    }

    /// <summary>
    /// An hourly answer written straight to the response from its hours' JSON: no buffer of its own (90 KB for a month,
    /// which .NET would allocate on the large-object heap at every read).
    /// </summary>
    private sealed class HoursAnswer(IReadOnlyList<SiteHours.Day> days, DateTimeOffset first, DateTimeOffset end) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            var length = (long)HoursOpening.Length + 2;
            var count = 0;
            foreach (var (day, i) in Selected())
            {
                length += day.Json[i].Length;
                count++;
            }

            http.Response.ContentType = "application/json; charset=utf-8";
            http.Response.ContentLength = length + Math.Max(0, count - 1);
            var body = http.Response.BodyWriter;
            body.Write(HoursOpening);
            var separator = false;
            foreach (var (day, i) in Selected())
            {
                if (separator)
                {
                    body.Write(","u8);
                }

                body.Write(day.Json[i]);
                separator = true;
            }

            body.Write("]}"u8);
            await body.FlushAsync(http.RequestAborted);
        }

        private IEnumerable<(SiteHours.Day Day, int Index)> Selected()
        {
            foreach (var day in days)
            {
                for (var i = 0; i < day.Points.Length; i++)
                {
                    if (day.Points[i].Start >= first && day.Points[i].Start < end)
                    {
                        yield return (day, i);
                    }
                }
            }
        }
    }

    /// <summary>An hourly answer up to its first point, <c>{"interval":"hour","points":[</c>, as the serialiser writes it.</summary>
    private static readonly byte[] HoursOpening = OpeningOf("hour");

    private static byte[] OpeningOf(string interval)
    {
        var empty = JsonSerializer.SerializeToUtf8Bytes(new SeriesResponse(interval, []), JsonBody.Options);
        return empty[..(empty.AsSpan().LastIndexOf("[]"u8) + 1)];
    }

    private static async Task<List<SeriesPoint>> PointsAsync(KnownSite site, string interval, List<Interval> intervals, CountStore counts, CancellationToken ct)
    {
        var period = interval == "day" ? PeriodKind.Day : PeriodKind.Month;
        var stored = await counts.SiteRangeAsync(site.Id, period, intervals[0].StoredKey, intervals[^1].StoredKey, ct);
        return intervals.Select(i =>
        {
            var c = stored.GetValueOrDefault(CountKey.Site(site.Id, period, i.StoredKey));
            return new SeriesPoint(i.Key, i.Start, c.PageViews, c.Visits, period == PeriodKind.Month ? null : c.Visitors);
        }).ToList();
    }

    /// <summary>One interval: its key in the answer, its key in the counts, its first moment.</summary>
    private sealed record Interval(string Key, string StoredKey, DateTimeOffset Start);

    /// <summary>The intervals of the zone that overlap [start, end), in order.</summary>
    private static IEnumerable<Interval> Intervals(string interval, DateTimeOffset start, DateTimeOffset end, TimeZoneInfo zone)
    {
        switch (interval)
        {
            case "hour":
                for (var hour = PeriodKeys.HourOf(SiteCalendar.ToLocal(start, zone)).Start; hour < end;
                     hour = PeriodKeys.HourOf(SiteCalendar.ToLocal(hour.AddHours(1), zone)).Start)
                {
                    yield return new Interval(hour.ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture), PeriodKeys.HourKey(hour), hour);
                }

                break;
            case "day":
                for (var day = SiteCalendar.LocalDay(start, zone); SiteCalendar.StartOf(day, zone) < end; day = day.AddDays(1))
                {
                    var key = new PeriodKeys(day).Key(PeriodKind.Day);
                    yield return new Interval(key, key, SiteCalendar.StartOf(day, zone));
                }

                break;
            default:
                var first = SiteCalendar.LocalDay(start, zone);
                for (var month = new DateOnly(first.Year, first.Month, 1); SiteCalendar.StartOf(month, zone) < end; month = month.AddMonths(1))
                {
                    var key = new PeriodKeys(month).Key(PeriodKind.Month);
                    yield return new Interval(key, key, SiteCalendar.StartOf(month, zone));
                }

                break;
        }
    }

    private static IResult Problem(string title, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
