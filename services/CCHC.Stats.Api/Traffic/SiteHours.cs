using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Hosting;
using CCHC.Stats.Api.Sites;
using CCHC.Stats.Contracts;

namespace CCHC.Stats.Api.Traffic;

/// <summary>
/// A site's hours as <c>stats/series</c> answers them, kept in memory by local day: each hour's point and its JSON (a
/// month of hours is 744 rows; read from PostgreSQL and serialised for every request they cost about a millisecond each).
/// A day's hours are known to be current while its day row is: every view adds one to its day's page views in the same
/// statement that changes its hours, so a day whose stored row is unchanged has unchanged hours. A site's day rows are
/// read by calendar year at most once a second (<see cref="RecentReads{TKey,TValue}"/>: a series may lag the counters by
/// that much, within its max-age of 5 s) and only the hours of days whose row moved are read again.
/// </summary>
public sealed class SiteHours(CountStore counts, TimeProvider clock)
{
    /// <summary>The most site-days held (about 5 KB each); past it all are dropped and read again as asked (a year of 50 sites is 18,250).</summary>
    public const int MaxDays = 20_000;

    /// <summary>A site's day rows of one calendar year (at most 366), read at most once a second whatever ranges are asked.</summary>
    private readonly RecentReads<(string Site, int Year), Dictionary<CountKey, Counts>> _dayRows = new(clock, TimeSpan.FromSeconds(1));

    private readonly ConcurrentDictionary<(string Site, string Zone, DateOnly Day), Day> _days = new();

    /// <summary>
    /// One local day's hours, every one of them (23, 24 or 25), in order, with the day row they were read with, each hour's
    /// JSON, and a digest of all of it (what an answer's ETag is made of, rather than of its 90 KB).
    /// </summary>
    public sealed record Day(Counts DayRow, SeriesPoint[] Points, byte[][] Json, byte[] Digest);

    /// <summary>The hours of the local days [<paramref name="first"/>, <paramref name="last"/>], a day at a time, in order.</summary>
    public async Task<IReadOnlyList<Day>> DaysAsync(KnownSite site, DateOnly first, DateOnly last, CancellationToken ct)
    {
        // Shared by every reader of the year within the second: no one reader's cancellation stops it.
        var years = new Dictionary<CountKey, Counts>[last.Year - first.Year + 1];
        for (var year = first.Year; year <= last.Year; year++)
        {
            years[year - first.Year] = await _dayRows.GetOrReadAsync((site.Id, year), k =>
                counts.SiteRangeAsync(k.Site, PeriodKind.Day, DayKey(new DateOnly(k.Year, 1, 1)), DayKey(new DateOnly(k.Year, 12, 31)), CancellationToken.None));
        }

        var days = new List<(DateOnly Date, Counts Row, Day? Held)>();
        for (var date = first; date <= last; date = date.AddDays(1))
        {
            var row = years[date.Year - first.Year].GetValueOrDefault(CountKey.Site(site.Id, PeriodKind.Day, DayKey(date)));
            days.Add((date, row, _days.TryGetValue((site.Id, site.Site.TimeZone, date), out var held) && held.DayRow == row ? held : null));
        }

        var stale = days.Where(d => d.Held is null).ToList();
        if (stale.Count == 0)
        {
            return days.Select(d => d.Held!).ToList();
        }

        if (_days.Count + stale.Count > MaxDays)
        {
            _days.Clear();
        }

        // One range over the stale days (an hour's key starts with its day; '~' sorts after the rest of any key).
        var read = await counts.SiteRangeAsync(site.Id, PeriodKind.Hour, DayKey(stale[0].Date), DayKey(stale[^1].Date) + "~", ct);
        var byKey = read.ToDictionary(r => r.Key.PeriodKey, r => r.Value);
        var answer = new List<Day>(days.Count);
        foreach (var (date, row, held) in days)
        {
            if (held is not null)
            {
                answer.Add(held);
                continue;
            }

            var points = HoursOf(date, site.Zone).Select(hour =>
            {
                var c = byKey.GetValueOrDefault(PeriodKeys.HourKey(hour));
                return new SeriesPoint(hour.ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture), hour, c.PageViews, c.Visits, c.Visitors);
            }).ToArray();
            var json = points.Select(p => JsonSerializer.SerializeToUtf8Bytes(p, JsonBody.Options)).ToArray();
            var day = new Day(row, points, json, System.Security.Cryptography.SHA256.HashData(json.SelectMany(j => j).ToArray()));
            _days[(site.Id, site.Site.TimeZone, date)] = day;
            answer.Add(day);
        }

        return answer;
    }

    /// <summary>The starts of a local day's hours, in the zone's local offsets (a DST change repeats or skips one).</summary>
    public static IEnumerable<DateTimeOffset> HoursOf(DateOnly day, TimeZoneInfo zone)
    {
        var end = SiteCalendar.StartOf(day.AddDays(1), zone);
        for (var hour = PeriodKeys.HourOf(SiteCalendar.ToLocal(SiteCalendar.StartOf(day, zone), zone)).Start; hour < end;
             hour = PeriodKeys.HourOf(SiteCalendar.ToLocal(hour.AddHours(1), zone)).Start)
        {
            yield return hour;
        }
    }

    private static string DayKey(DateOnly day) => new PeriodKeys(day).Key(PeriodKind.Day);
}
