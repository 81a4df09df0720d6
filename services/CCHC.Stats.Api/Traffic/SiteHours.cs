using System.Collections.Concurrent;
using CCHC.Stats.Api.Counters;
using CCHC.Stats.Api.Pages;

namespace CCHC.Stats.Api.Traffic;

/// <summary>
/// A site's stored hour counts, kept in memory by local day for <c>stats/series</c> by hour (a month of hours is 744 rows:
/// read from PostgreSQL for every request they cost ~1 ms of its time each). A day's hours are known to be current while
/// its day row is: every view adds one to its day's page views in the same statement that changes its hours, so a day
/// whose stored row is unchanged has unchanged hours. A site's day rows are read by calendar year at most once a second
/// (<see cref="RecentReads{TKey,TValue}"/>: a series may lag the counters by that much, within its max-age of 5 s) and only
/// the hours of days whose row moved are read again.
/// </summary>
public sealed class SiteHours(CountStore counts, TimeProvider clock)
{
    /// <summary>The most site-days held (about 2 KB each); past it all are dropped and read again as asked (a year of 50 sites is 18,250).</summary>
    public const int MaxDays = 20_000;

    /// <summary>A site's day rows of one calendar year (at most 366), read at most once a second whatever ranges are asked.</summary>
    private readonly RecentReads<(string Site, int Year), Dictionary<CountKey, Counts>> _dayRows = new(clock, TimeSpan.FromSeconds(1));

    private readonly ConcurrentDictionary<(string Site, string Day), Hours> _days = new();

    /// <summary>One day's hours, and the day row they were read with.</summary>
    private sealed record Hours(Counts DayRow, IReadOnlyDictionary<string, Counts> ByKey);

    /// <summary>The stored counts of the hours of the local days [<paramref name="first"/>, <paramref name="last"/>], by hour key.</summary>
    public async Task<IReadOnlyDictionary<string, Counts>> OfDaysAsync(string siteId, DateOnly first, DateOnly last, CancellationToken ct)
    {
        // Shared by every reader of the year within the second: no one reader's cancellation stops it.
        var dayRows = new Dictionary<CountKey, Counts>();
        for (var year = first.Year; year <= last.Year; year++)
        {
            var ofYear = await _dayRows.GetOrReadAsync((siteId, year), k =>
                counts.SiteRangeAsync(k.Site, PeriodKind.Day, DayKey(new DateOnly(k.Year, 1, 1)), DayKey(new DateOnly(k.Year, 12, 31)), CancellationToken.None));
            foreach (var (key, row) in ofYear)
            {
                dayRows[key] = row;
            }
        }

        var days = new List<(string Key, Counts Row, Hours? Held)>();
        for (var day = first; day <= last; day = day.AddDays(1))
        {
            var key = DayKey(day);
            var row = dayRows.GetValueOrDefault(CountKey.Site(siteId, PeriodKind.Day, key));
            days.Add((key, row, _days.TryGetValue((siteId, key), out var held) && held.DayRow == row ? held : null));
        }

        var stale = days.Where(d => d.Held is null).ToList();
        Dictionary<string, Dictionary<string, Counts>> read = [];
        if (stale.Count > 0)
        {
            if (_days.Count + stale.Count > MaxDays)
            {
                _days.Clear();
            }

            // One range over the stale days (an hour's key starts with its day; '~' sorts after the rest of any key).
            read = (await counts.SiteRangeAsync(siteId, PeriodKind.Hour, stale[0].Key, stale[^1].Key + "~", ct))
                .GroupBy(r => r.Key.PeriodKey[..10]).ToDictionary(g => g.Key, g => g.ToDictionary(r => r.Key.PeriodKey, r => r.Value));
            foreach (var (key, row, _) in stale)
            {
                _days[(siteId, key)] = new Hours(row, read.GetValueOrDefault(key) ?? []);
            }
        }

        var hours = new Dictionary<string, Counts>();
        foreach (var (key, _, held) in days)
        {
            foreach (var (hour, value) in held?.ByKey ?? read.GetValueOrDefault(key) ?? [])
            {
                hours[hour] = value;
            }
        }

        return hours;
    }

    private static string DayKey(DateOnly day) => new PeriodKeys(day).Key(PeriodKind.Day);
}
